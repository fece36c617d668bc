"""The ExpressRoute topology with real FRR: Azure's behaviour, observed through FRR JSON and the kernel.

Three networks: the reference one (timers, ECMP, prefix limit, MTU, communities), one whose CE
and MSEE run BFD at different rates, and one whose two ends hold different MD5 keys."""
import ipaddress
import logging
import shutil
import time
from pathlib import Path

import pytest
import yaml

from testbed.errors import TestbedError
from testbed.model import catalog, content
from testbed.observe import converge, status
from testbed.observe.checks import fib_nexthops
from testbed.runtime.net import Network
from testbed.system.netstat import md5_drops
from testbed.system.poll import poll

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def er():
    topo = catalog.build("expressroute", {"msee.prefix_limit_retry_s": 2})
    with Network(topo, run="haer") as net:
        converge.wait_converged(net, timeout=30)
        yield net


def test_converges_within_10_s(er):
    assert er.convergence.total_s < 10, er.convergence


def test_a_logger_made_once_mininet_runs_has_no_handler_of_its_own(er):
    """Mininet makes later loggers print to stderr themselves; the testbed's warnings must only
    reach the handlers it sets (a run's notes), not the terminal."""
    made = logging.getLogger("testbed.after_mininet")
    assert type(made) is logging.Logger and made.handlers == []


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


def _ping(net, src, dst, size):
    """One ping of ``size`` payload bytes with DF set: (it came back, what ping printed)."""
    out = net.run_in(src, ["ping", "-c", "1", "-W", "1", "-M", "do", "-s", str(size), dst],
                     capture_output=True, text=True)
    return out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("src, dst", [("h1", "10.10.1.4"), ("vm1", "10.20.1.10")])
def test_a_1500_byte_packet_with_df_is_refused_and_a_1400_byte_one_passes(er, src, dst):
    ok, out = _ping(er, src, dst, 1500 - 28)
    print(out.strip().splitlines()[1:2])
    assert not ok and ("mtu = 1400" in out or "too long" in out), out   # frag needed from the MSEE or gateway
    ok, out = _ping(er, src, dst, 1400 - 28)
    assert ok, out


COMMUNITY = "65020:100"


def test_communities_the_customer_sends_are_ignored(er):
    ce1, msee1 = er.frr["ce1"], er.frr["msee1"]

    def communities(router, peer=None):
        paths = er.frr[router].json("show bgp ipv4 unicast 10.20.0.0/16 json")["paths"]
        return [p.get("community", {}).get("string") for p in paths if peer is None or p["peer"]["peerId"] == peer]

    def soft_in(policy):   # the MSEE's inbound policy with or without its "set community none"
        msee1.apply(f"route-map CUSTOMER-IN permit 10\n {'' if policy else 'no '}set community none\n")
        msee1.command("clear bgp ipv4 unicast 192.168.100.129 soft in")

    ce1.apply(f"route-map TAG permit 10\n set community {COMMUNITY}\nexit\nrouter bgp 65020\n"
              " address-family ipv4 unicast\n  neighbor 192.168.100.130 route-map TAG out\n")
    ce1.command("clear bgp ipv4 unicast 192.168.100.130 soft out")
    try:
        # The control: without the MSEE's policy the community arrives, so ce1 does send it.
        soft_in(False)
        assert poll(lambda: [] if communities("msee1", "192.168.100.129") == [COMMUNITY] else ["not yet"], 10, 0.2).ok
        soft_in(True)
        assert poll(lambda: [] if communities("msee1", "192.168.100.129") == [None] else ["still there"], 10, 0.2).ok
        time.sleep(1)   # the gateway has had msee1's update
        assert communities("ergw0") and COMMUNITY not in str(communities("ergw0"))
    finally:
        soft_in(True)
        ce1.apply("router bgp 65020\n address-family ipv4 unicast\n  no neighbor 192.168.100.130 route-map TAG out\n")
        ce1.command("clear bgp ipv4 unicast 192.168.100.130 soft out")


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


@pytest.fixture(scope="module")
def bfd_split():
    """The CE asks for 100 ms x 5, the MSEE runs Azure's slower 750 ms x 3."""
    topo = catalog.build("expressroute", {"onprem.bfd_interval_ms": 100, "onprem.bfd_multiplier": 5,
                                          "bfd.interval_ms": 750})
    with Network(topo, run="habfd") as net:
        converge.wait_converged(net, timeout=30)
        yield net


def _bfd_peer(net, router, addr):
    peer, = [p for p in net.frr[router].json("show bfd peers json") if p["peer"] == addr]
    return peer


def test_bfd_runs_at_the_slower_sides_interval(bfd_split):
    ce = _bfd_peer(bfd_split, "ce1", "192.168.100.130")
    msee = _bfd_peer(bfd_split, "msee1", "192.168.100.129")
    print({k: v for k, v in ce.items() if "interval" in k or "multiplier" in k})
    assert (ce["transmit-interval"], ce["detect-multiplier"]) == (100, 5)          # each configures its own
    assert (msee["transmit-interval"], msee["detect-multiplier"]) == (750, 3)
    assert (ce["remote-receive-interval"], msee["remote-receive-interval"]) == (750, 100)
    # each transmits at the larger of its own interval and the peer's receive interval
    tx = {"ce1": max(ce["transmit-interval"], ce["remote-receive-interval"]),
          "msee1": max(msee["transmit-interval"], msee["remote-receive-interval"])}
    assert tx == {"ce1": 750, "msee1": 750}
    # and each detects after the peer's multiplier times the slower of its receive and the peer's transmit
    detect = {"ce1": ce["remote-detect-multiplier"] * max(ce["receive-interval"], ce["remote-transmit-interval"]),
              "msee1": msee["remote-detect-multiplier"] * max(msee["receive-interval"], msee["remote-transmit-interval"])}
    assert detect == {"ce1": 2250, "msee1": 3750}


def test_the_ce_really_sends_at_750_ms(bfd_split):
    def sent():
        counters = bfd_split.frr["ce1"].json("show bfd peers counters json")
        return next(c["control-packet-output"] for c in counters if c["peer"] == "192.168.100.130")
    before, t0 = sent(), time.monotonic()
    time.sleep(4.5)
    rate = (sent() - before) / (time.monotonic() - t0)
    print(f"ce1 BFD control packets: {rate:.2f}/s")
    assert 1 / 0.75 * 0.9 <= rate <= 1 / (0.75 * 0.75) * 1.1    # jitter 75-100 % of 750 ms, not 10/s


@pytest.fixture(scope="module")
def md5_mismatch(tmp_path_factory):
    """The circuit's key on the MSEEs, another on the CEs; the wait for convergence and its error."""
    d = tmp_path_factory.mktemp("md5")
    (d / "er.key").write_text("azure-key\n")
    (d / "own.key").write_text("onprem-key\n")
    net = yaml.safe_load(content.networks()["expressroute"].read_text())
    net["expressroute"]["circuits"][0]["md5_key_file"] = "er.key"
    (d / "er.yaml").write_text(yaml.safe_dump(net))
    topo = catalog.build(str(d / "er.yaml"), {"onprem.md5_key_file": str(d / "own.key")})
    with Network(topo, run="hamd5") as net:
        t0 = time.monotonic()
        with pytest.raises(TestbedError) as e:
            converge.wait_converged(net, timeout=60)
        yield net, str(e.value), time.monotonic() - t0
    if "kept in " in str(e.value):  # the logs the message names, kept for a user: not for a test
        shutil.rmtree(str(e.value).rsplit("kept in ", 1)[1].rstrip("."), ignore_errors=True)


def test_an_md5_mismatch_keeps_the_session_down_and_says_so_early(md5_mismatch):
    net, error, waited = md5_mismatch
    print(f"gave up after {waited:.1f} s: {error}")
    assert "cannot converge" in error and "MD5 mismatch on er-primary" in error, error
    kept = Path(error.rsplit("kept in ", 1)[1].rstrip("."))  # the run's logs outlive it
    assert (kept / "ce1" / "frr.log").is_file() and (kept / "msee1" / "frr.conf").is_file(), error
    assert waited < 20                                                    # not the 60 s timeout
    assert {**md5_drops(net.pid("msee1")), **md5_drops(net.pid("ce1"))}.get("TCPMD5Failure", 0) > 0
    time.sleep(3)
    rows = {(r["router"], r["session"]): r for r in status.bgp_sessions(net)}
    row = rows[("ce1", "er-primary")]
    assert row["state"] != "Established" and "MD5 mismatch on er-primary" in row["reason"], row
    assert rows[("core", "core-ce1")]["state"] == "Established" and rows[("core", "core-ce1")]["reason"] is None
