"""Faults and path marks: their rules and configs (no root), then each one on a live network."""
from __future__ import annotations

import pytest

from testbed import faults
from testbed.errors import TestbedError
from testbed.measure import pathmark
from testbed.measure.records import TOS_SHIFT, Records
from testbed.model import catalog

TOPO = catalog.build("expressroute", {})


# --- pure -------------------------------------------------------------------------------------
def test_blackhole_drops_every_direction_of_one_interface_in_one_table():
    fault = faults.Blackhole("er-primary")
    rules = fault.rules("ce1-eth1")
    assert rules.startswith(f"add table inet {fault.table}\ndelete table inet {fault.table}\n")  # replaces
    for hook, match in (("input", "iifname"), ("output", "oifname")):
        assert f'hook {hook} priority -400; policy accept; {match} "ce1-eth1" drop;' in rules
    assert 'iifname "ce1-eth1" drop; oifname "ce1-eth1" drop;' in rules  # forward


def test_each_nft_fault_has_a_table_of_its_own():
    """Two faults on one node must neither replace nor restore each other (clean removes the prefix)."""
    a, b = faults.Blackhole("er-primary"), faults.RandomLoss("er-primary", percent=5)
    assert a.table != b.table and a.table.startswith("tbfault-") and b.table.startswith("tbfault-")
    assert b.table in b.rule_lines("x") and a.table not in b.rules("x") + b.chains()


def test_random_loss_rules_and_bounds():
    assert 'numgen random mod 100 < 7 drop' in faults.RandomLoss("er-primary", percent=7).rules("x")
    assert faults.RandomLoss("er-primary", percent=7, duration_s=3).settle == "hold"
    with pytest.raises(TestbedError, match="1-100"):
        faults.RandomLoss("er-primary", percent=0)


def test_prefix_flood_config_adds_and_withdraws_the_same_prefixes():
    flood = faults.PrefixFlood("ce1", count=3, pool="10.128.0.0/9")
    add = flood.config(65020)
    assert add[:3] == ["ip route 10.128.0.0/24 blackhole", "ip route 10.128.1.0/24 blackhole",
                       "ip route 10.128.2.0/24 blackhole"]
    assert add[3:] == ["router bgp 65020", " address-family ipv4 unicast", "  network 10.128.0.0/24",
                       "  network 10.128.1.0/24", "  network 10.128.2.0/24", " exit-address-family"]
    assert all(line.lstrip().startswith(("no ", "router", "address", "exit"))
               for line in flood.config(65020, withdraw=True))
    with pytest.raises(TestbedError, match="holds only 4"):
        faults.PrefixFlood("ce1", count=5, pool="10.0.0.0/22").prefixes()


def test_faults_name_things_the_topology_has():
    faults.LinkDown("er-primary").check(TOPO)
    faults.AsPathPrepend("msee1", "er-primary").check(TOPO)
    for bad, msg in ((faults.LinkDown("er-tertiary"), "no link labelled 'er-tertiary'"),
                     (faults.Blackhole("er-primary", node="core"), "core is not an end of er-primary"),
                     (faults.DaemonKill("h1"), "'h1' is not a router"),
                     (faults.DaemonKill("ce1", "ospfd"), "runs no ospfd"),
                     (faults.SessionShutdown("ce1", "er-secondary"), "no BGP session labelled 'er-secondary'")):
        with pytest.raises(TestbedError, match=msg):
            bad.check(TOPO)


@pytest.mark.parametrize("fault", [faults.IkeDaemonKill, faults.IkeDelete, faults.KeyChange, faults.Rekey])
def test_tunnel_faults_name_a_tunnel_the_network_has(fault):
    vpn = catalog.build("vpn")
    fault("vpn-tunnel1").check(vpn)
    with pytest.raises(TestbedError, match=r"vpn has no tunnel 'vpn-tunnel2': choose one of vpn-tunnel0, vpn-tunnel1\.$"):
        fault("vpn-tunnel2").check(vpn)
    with pytest.raises(TestbedError, match=r"has no tunnel 'vpn-tunnel0': choose one of none \(no VPN\)\.$"):
        fault("vpn-tunnel0").check(TOPO)


def test_flap_validates_and_settles_back_to_baseline():
    assert faults.LinkFlap("er-primary").settle == "baseline"
    with pytest.raises(TestbedError):
        faults.LinkFlap("er-primary", cycles=0)


def test_mark_points_come_from_link_labels_on_the_onprem_end():
    points = pathmark.mark_points(TOPO)
    assert [(p.node, p.path, p.dscp) for p in points] == [("ce1", "er-primary", 10), ("ce2", "er-secondary", 20)]
    rules = pathmark.rules(points[:1], (47000, 47010))
    assert 'iifname "ce1-eth1" udp dport 47000-47010 ip dscp set 10' in rules
    assert 'oifname "ce1-eth1" udp dport 47000-47010 ip dscp set 10' in rules


def test_marks_are_read_back_from_the_probe_flags():
    names = pathmark.names(pathmark.mark_points(TOPO))
    tos = {10: 10 << 2, 20: 20 << 2}
    rows = [(f, k, k * 1_000_000, 0, 3, 1 | (tos[10 if k < 50 or f == 1 else 20] << TOS_SHIFT))
            for f in (0, 1) for k in range(100)]
    recs = Records.from_rows(rows)
    assert pathmark.by_mark(recs).ifindex[0] == 10
    paths = pathmark.flow_paths(recs, names, {"before": (0, 50_000_000), "during": (50_000_000, 10**9)})
    assert paths == {0: {"before": "er-primary", "during": "er-secondary"},
                     1: {"before": "er-primary", "during": "er-primary"}}
    series = pathmark.traffic(recs, names, 0, 99_000_000, bucket_ms=10)
    assert series["er-primary"][0] == 20 and series["er-secondary"][5] == 10 and len(series["er-primary"]) == 10


def test_the_package_docstring_names_every_fault_it_exports():
    """The docstring is the catalogue people read: it must match what exists."""
    doc = faults.__doc__ or ""
    assert [name for name in faults.__all__ if name != "Fault" and f"``{name}``" not in doc] == []
