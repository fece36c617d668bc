"""The ExpressRoute topology model and the FRR configs rendered from it (no root needed)."""
import shutil
import subprocess

import pytest

from testbed.daemons.render import frr_conf
from testbed.errors import TestbedError
from testbed.model import catalog


def conf(node, **overrides):
    topo = catalog.build("expressroute", overrides)
    return frr_conf(topo.routers[node], "/tmp/frr.log")


def test_er_links_split_the_29_customer_first():
    topo = catalog.build("expressroute")
    primary, secondary = topo.link_by_label("er-primary"), topo.link_by_label("er-secondary")
    assert (str(primary.a.addr), str(primary.b.addr)) == ("192.168.100.129/30", "192.168.100.130/30")
    assert (str(secondary.a.addr), str(secondary.b.addr)) == ("192.168.100.133/30", "192.168.100.134/30")
    assert (primary.a.node, primary.b.node) == ("ce1", "msee1")
    assert all(len(end.name) <= 15 for link in topo.links for end in (link.a, link.b))


def test_msee_is_azure():
    c = conf("msee1")
    assert "router bgp 12076" in c
    assert "neighbor 192.168.100.129 remote-as 65020" in c
    assert "neighbor 192.168.100.129 timers 60 180" in c
    assert "neighbor 192.168.100.129 bfd profile azure" in c
    assert "receive-interval 300" in c and "transmit-interval 300" in c and "detect-multiplier 3" in c
    assert "neighbor 192.168.100.129 maximum-prefix 4000" in c
    assert "neighbor 192.168.100.129 remove-private-AS" in c
    assert "set community none" in c
    assert "maximum-prefix 10000" in conf("msee1", **{"er.premium": True})


def test_bfd_follows_params():
    c = conf("ce1", **{"bfd.interval_ms": 100, "bfd.multiplier": 5})
    assert "receive-interval 100" in c and "detect-multiplier 5" in c
    assert "bfd profile" not in conf("ce1", **{"onprem.bfd": False})
    assert "bfd profile" not in conf("msee1", **{"bfd.enabled": False})


def test_ce_and_msee_bfd_timers_are_their_own():
    sets = {"onprem.bfd_interval_ms": 100, "onprem.bfd_multiplier": 5, "bfd.interval_ms": 750}
    ce, msee = conf("ce1", **sets), conf("msee1", **sets)
    assert "transmit-interval 100" in ce and "detect-multiplier 5" in ce
    assert "transmit-interval 750" in msee and "detect-multiplier 3" in msee


def test_negotiated_bfd_is_the_slower_side_and_each_detects_by_the_others_multiplier():
    from testbed.azure.expressroute import bfd_negotiated
    from testbed.model.params import Params
    from testbed.trials.scenario import bfd_window
    p = Params({"onprem.bfd_interval_ms": 100, "onprem.bfd_multiplier": 5})
    assert bfd_negotiated(p) == (300, (3, 5))            # ce detects after 3 of the MSEE's, msee after 5
    assert bfd_window(p, 100)[:2] == (600, 1600)
    assert bfd_negotiated(Params({"bfd.interval_ms": 100})) == (100, (3, 3))   # 0: the CE follows the MSEE


def test_the_er_mtu_sits_on_the_msee_gateway_links_and_the_peering_stays_at_1500():
    topo = catalog.build("expressroute")
    links = [topo.link_by_label(f"{m}-ergw{i}") for m in ("msee1", "msee2") for i in (0, 1)]
    assert {(e.node, e.mtu) for link in links for e in (link.a, link.b)} \
        == {("msee1", 1400), ("msee2", 1400), ("ergw0", 1400), ("ergw1", 1400)}
    assert topo.link_by_label("er-primary").a.mtu is None
    with pytest.raises(TestbedError, match="er.mtu 9000 must lie in 576-1500"):
        catalog.build("expressroute", {"er.mtu": 9000})


def test_lower_customer_timers_are_rendered_on_the_ce_only():
    assert "timers 3 10" in conf("ce1", **{"onprem.keepalive_s": 3, "onprem.hold_s": 10})
    assert "timers 3 10" not in conf("msee1", **{"onprem.keepalive_s": 3, "onprem.hold_s": 10})


def test_active_active_multipath():
    assert "maximum-paths ibgp 2" in conf("core")
    assert "maximum-paths 2" in conf("ergw0")


@pytest.mark.skipif(shutil.which("vtysh") is None, reason="FRR not installed")
@pytest.mark.parametrize("node", ["core", "ce1", "msee1", "ergw0", "vnet"])
def test_rendered_configs_pass_frr_dry_run(node, tmp_path):
    path = tmp_path / "frr.conf"
    path.write_text(conf(node))
    res = subprocess.run(["vtysh", "--dryrun", "-f", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_a_fib_expectation_names_what_is_wrong_with_a_path():
    from testbed.model.topo import FibExpectation
    e = FibExpectation("vnet", "10.20.0.0/16", via=("ergw0-vnet",))
    assert e.problem(["ergw0-vnet"]) is None
    assert e.problem([]) == "has 0 next hop(s) in the kernel FIB, want 1"
    assert e.problem(["vpngw0-vnet", "vpngw1-vnet"]) == "goes via vpngw0-vnet, vpngw1-vnet, want ergw0-vnet"
    assert FibExpectation("core", "10.10.0.0/16", 2).problem(["core-ce2", "core-ce1"]) is None


def test_vpn_gateway_drops_the_device_over_its_prefix_limit_and_retries():
    topo = catalog.build("vpn", {"vpngw.prefix_limit": 7, "vpngw.prefix_limit_retry_s": 3})
    for gw, device in (("vpngw0", "169.254.21.2"), ("vpngw1", "169.254.22.2")):
        assert f"neighbor {device} maximum-prefix 7" in frr_conf(topo.routers[gw], "/tmp/frr.log")
    assert "maximum-prefix" not in frr_conf(topo.routers["vpn1"], "/tmp/frr.log")
    retry, = [b for b in topo.behaviours if "vpngw0" in getattr(b, "routers", ())]
    assert (retry.routers, retry.retry_s) == (("vpngw0", "vpngw1"), 3)
