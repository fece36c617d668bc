"""An active-standby VPN gateway: the standby is a twin of the active instance, down until it
takes over (pure model, no root)."""
import pytest

from testbed.errors import TestbedError
from testbed.faults import Takeover
from testbed.daemons.render import frr_conf
from testbed.model import catalog


def test_the_standby_has_the_active_instances_addresses_and_sessions_on_links_that_start_down():
    t = catalog.build("vpn-active-standby", {})
    active, standby = t.routers["vpngw0"], t.routers["vpngw1"]
    assert standby.standby_for == "vpngw0" and active.standby_for is None
    assert [n.addr for n in standby.neighbors] == [n.addr for n in active.neighbors]
    pairs = list(zip(t.links_of("vpngw0"), t.links_of("vpngw1")))
    assert [(a.label, b.label) for a, b in pairs] == [("inet-vpngw0", "inet-vpngw1"), ("vpngw0-vnet", "vpngw1-vnet")]
    for a, b in pairs:
        assert (a.a.addr, a.b.addr) == (b.a.addr, b.b.addr) and not a.standby and b.standby
    assert [x.standby for x in t.tunnels] == ["vpngw1"]
    # nobody else peers with the standby: its sessions are its twin's, once it has taken over
    assert not [n for r in t.routers.values() for n in r.neighbors if n.peer == "vpngw1"]
    assert frr_conf(standby, "/dev/null").replace("vpngw1", "vpngw0") == frr_conf(active, "/dev/null")


def test_no_standby_when_asked_or_when_active_active():
    assert "vpngw1" not in catalog.build("vpn-active-standby", {"vpngw.standby": False}).routers
    aa = catalog.build("vpn", {})
    assert not [r for r in aa.routers.values() if r.standby_for] and not [x for x in aa.tunnels if x.standby]


def test_a_takeover_needs_a_standby_and_names_both_instances_links():
    t = catalog.build("vpn-active-standby", {})
    fault = Takeover.of(t, "vpngw0", 10.0, "planned maintenance")
    fault.check(t)
    assert fault.standby == "vpngw1" and fault.links() == ["inet-vpngw0", "vpngw0-vnet", "inet-vpngw1", "vpngw1-vnet"]
    with pytest.raises(TestbedError, match="vpngw0 has no standby instance in vpn.*instances=1"):
        Takeover.of(catalog.build("vpn", {}), "vpngw0", 10.0, "planned maintenance")


@pytest.mark.parametrize("key", ["vpngw.takeover_planned_s", "vpngw.takeover_unplanned_s"])
def test_a_takeover_delay_outside_0_to_600_s_is_refused(key):
    with pytest.raises(TestbedError, match=f"{key} is 601: give 0-600 s"):
        catalog.build("vpn-active-standby", {key: 601.0})
