"""The ExpressRoute topology model and the FRR configs rendered from it (no root needed)."""
import shutil
import subprocess

import pytest

from testbed.daemons.render import frr_conf
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
