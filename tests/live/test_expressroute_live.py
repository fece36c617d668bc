"""The ExpressRoute topology with real FRR: Azure's behaviour, observed through FRR JSON and the kernel."""
import ipaddress

import pytest

from testbed.model import catalog
from testbed.observe import converge
from testbed.observe.checks import fib_nexthops
from testbed.runtime.net import Network
from testbed.system.poll import poll

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def er():
    topo = catalog.build("expressroute", {"msee.prefix_limit_retry_s": 2})
    with Network(topo, run="iter") as net:
        converge.wait_converged(net, timeout=30)
        yield net


def test_converges_within_10_s(er):
    assert er.convergence.total_s < 10, er.convergence


def test_msee_timers_and_bfd_are_azure_defaults(er):
    n = er.frr["msee1"].json("show bgp neighbors json")["192.168.100.129"]
    assert (n["bgpTimerKeepAliveIntervalMsecs"], n["bgpTimerHoldTimeMsecs"]) == (60000, 180000)
    peer, = [p for p in er.frr["msee1"].json("show bfd peers json") if p["peer"] == "192.168.100.129"]
    assert peer["status"] == "up"
    assert (peer["receive-interval"], peer["transmit-interval"], peer["detect-multiplier"]) == (300, 300, 3)


def test_vnet_prefix_reaches_onprem_with_as_path_12076_only(er):
    route = er.frr["ce1"].json("show bgp ipv4 unicast 10.10.0.0/16 json")
    # from msee1, and from ce2 over the CE pair's iBGP: both carry 12076 alone
    assert {p["aspath"]["string"] for p in route["paths"]} == {"12076"}


def test_active_active_ecmp_both_directions(er):
    assert fib_nexthops(er, "core", "10.10.0.0/16") == ["core-ce1", "core-ce2"]
    for i in (0, 1):
        assert fib_nexthops(er, f"ergw{i}", "10.20.0.0/16") == [f"msee1-ergw{i}", f"msee2-ergw{i}"]
    assert er.ping("h1", "10.10.1.4") and er.ping("vm1", "10.20.1.10")


def test_vnet_and_msees_load_share_over_both_gateway_instances(er):
    assert fib_nexthops(er, "vnet", "10.20.0.0/16") == ["ergw0-vnet", "ergw1-vnet"]
    for msee in ("msee1", "msee2"):
        assert fib_nexthops(er, msee, "10.10.0.0/16") == [f"{msee}-ergw0", f"{msee}-ergw1"]


def _flood(n: int) -> tuple[str, str]:
    nets = list(ipaddress.ip_network("10.128.0.0/9").subnets(new_prefix=24))[:n]
    add = [f"ip route {p} blackhole" for p in nets] + ["router bgp 65020", " address-family ipv4 unicast"]
    add += [f"  network {p}" for p in nets]
    remove = ["router bgp 65020", " address-family ipv4 unicast"] + [f"  no network {p}" for p in nets]
    remove += [" exit-address-family", "exit"] + [f"no ip route {p} blackhole" for p in nets]
    return "\n".join(add) + "\n", "\n".join(remove) + "\n"


def test_prefix_limit_drops_the_msee_session_and_it_comes_back(er):
    limit = er.topo.params.prefix_limit()
    add, remove = _flood(limit + 1)  # with the on-prem /16 that is limit + 2 prefixes

    def msee1_session():
        return er.frr["msee1"].json("show bgp neighbors 192.168.100.129 json")["192.168.100.129"]

    er.frr["core"].apply(add)
    try:
        assert poll(lambda: [] if msee1_session()["bgpState"] != "Established" else ["up"], 30, 0.2).ok
        s = msee1_session()
        assert "Maximum Number of Prefixes" in s.get("lastNotificationReason", "")
        # The leak reaches both CEs, so both MSEEs drop: the whole circuit is down.
        assert not er.ping("h1", "10.10.1.4")
    finally:
        er.frr["core"].apply(remove)
    assert poll(lambda: [] if msee1_session()["bgpState"] == "Established" else ["down"], 30, 0.2).ok
    assert poll(lambda: [] if msee1_session()["addressFamilyInfo"]["ipv4Unicast"]
                .get("acceptedPrefixCounter") == 1 else ["count"], 10, 0.2).ok
