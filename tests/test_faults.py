"""Faults and path marks: their rules and configs (no root), then each one on a live network."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from testbed.model import catalog
from testbed import faults
from testbed.measure import pathmark
from testbed.errors import TestbedError
from testbed.measure.outage import Records
from testbed.measure.probe import TOS_SHIFT
from testbed.observe import converge

TOPO = catalog.build("expressroute", {})


# --- pure -------------------------------------------------------------------------------------
def test_blackhole_drops_every_direction_of_one_interface_in_one_table():
    rules = faults.Blackhole("er-primary").rules("ce1-eth1")
    assert rules.startswith("add table inet tbfault\ndelete table inet tbfault\n")  # replaces leftovers
    for hook, match in (("input", "iifname"), ("output", "oifname")):
        assert f'hook {hook} priority -400; policy accept; {match} "ce1-eth1" drop;' in rules
    assert 'iifname "ce1-eth1" drop; oifname "ce1-eth1" drop;' in rules  # forward


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


# --- live -------------------------------------------------------------------------------------
live = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces, FRR, nftables)")


@pytest.fixture(scope="module")
def net():
    from testbed.runtime.net import Network
    with Network(catalog.build("expressroute", {}), run=f"scenf{os.getpid() % 10000}") as n:
        converge.wait_converged(n)
        yield n


def _wait(cond, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def _session(net, router: str, addr: str) -> str:
    return net.frr[router].json("show bgp ipv4 unicast summary json").get("peers", {}).get(addr, {}).get("state", "")


@pytest.mark.integration
@live
def test_blackhole_silences_the_link_and_restore_undoes_it(net):
    f = faults.Blackhole("er-primary")
    ev = f.inject(net)
    try:
        assert ev.source == "fault" and ev.kind == "inject" and ev.detail["issued_ns"] <= ev.t_ns
        assert not net.ping("ce1", "192.168.100.130")
        assert "up" in net.cmd("ce1", "cat /sys/class/net/ce1-eth1/operstate")  # carrier stays
    finally:
        f.restore(net)
    assert net.ping("ce1", "192.168.100.130")
    assert "tbfault" not in net.cmd("ce1", "nft list tables")


@pytest.mark.integration
@live
def test_link_down_takes_both_ends_down(net):
    f = faults.LinkDown("er-primary")
    f.inject(net)
    try:
        assert "down" in net.cmd("ce1", "cat /sys/class/net/ce1-eth1/operstate")
        assert "down" in net.cmd("msee1", "cat /sys/class/net/msee1-eth0/operstate")
    finally:
        f.restore(net)
    assert _wait(lambda: net.ping("ce1", "192.168.100.130"))
    assert _wait(lambda: _session(net, "ce1", "192.168.100.130") == "Established")


@pytest.mark.integration
@live
def test_bgpd_killed_and_started_again(net):
    f = faults.DaemonKill("ce1", "bgpd")
    pid = int((net.frr["ce1"].rundir / "bgpd.pid").read_text())
    f.inject(net)
    try:
        assert not os.path.exists(f"/proc/{pid}/cmdline") or not open(f"/proc/{pid}/cmdline").read()
    finally:
        ev = f.restore(net)
    assert ev.detail["pid"] != pid
    assert _wait(lambda: _session(net, "ce1", "192.168.100.130") == "Established", 20)


@pytest.mark.integration
@live
def test_prepend_reaches_the_ce_and_goes_away(net):
    def path() -> str:
        routes = net.frr["ce1"].json("show bgp ipv4 unicast 10.10.0.0/16 json").get("paths", [])
        return routes[0]["aspath"]["string"] if routes else ""
    f = faults.AsPathPrepend("msee1", "er-primary", times=3)
    f.inject(net)
    try:
        assert _wait(lambda: path() == "12076 12076 12076 12076", 10), path()
    finally:
        f.restore(net)
    assert _wait(lambda: path() == "12076", 10), path()


@pytest.mark.integration
@live
def test_small_prefix_flood_is_advertised_and_withdrawn(net):
    f = faults.PrefixFlood("ce1", count=20, pool="10.200.0.0/16")

    def learnt() -> int:
        table = net.frr["core"].json("show bgp ipv4 unicast json").get("routes", {})
        return sum(1 for p in table if p.startswith("10.200."))
    f.inject(net)
    try:
        assert _wait(lambda: learnt() == 20, 10)
    finally:
        f.restore(net)
    assert _wait(lambda: learnt() == 0, 10)


@pytest.mark.integration
@live
def test_delay_needs_netem_and_says_so(net):
    if faults.netem_available(net, "ce1"):
        pytest.skip("this kernel has netem")
    with pytest.raises(TestbedError, match="no netem qdisc"):
        faults.Delay("er-primary").inject(net)


@pytest.mark.integration
@live
def test_probe_records_the_mark_of_the_path_each_packet_took(net, tmp_path):
    from testbed.measure.outage import load_records
    points = pathmark.mark_points(net.topo)
    pathmark.install(net, points)
    try:
        out = tmp_path / "vm1.bin"
        rx = net.nodes["vm1"].popen([sys.executable, "-m", "testbed.measure.probe", "--peer", "10.20.1.10",
                                     "--out", str(out), "--mode", "recv", "--flows", "8"], stdout=subprocess.PIPE)
        tx = net.nodes["h1"].popen([sys.executable, "-m", "testbed.measure.probe", "--peer", "10.10.1.4",
                                    "--out", str(tmp_path / "h1.bin"), "--mode", "send", "--flows", "8",
                                    "--duration", "0.5", "--rate", "200"], stdout=subprocess.PIPE)
        rx.stdout.readline()
        assert tx.wait(10) == 0
        time.sleep(0.3)
        rx.terminate()
        rx.wait(10)
    finally:
        pathmark.remove(net, points)
    paths = pathmark.flow_paths(load_records(str(out)), pathmark.names(points), {"all": (0, 2**62)})
    assert len(paths) == 8 and {p["all"] for p in paths.values()} <= {"er-primary", "er-secondary"}
    assert len({p["all"] for p in paths.values()}) == 2  # 8 flows: ECMP uses both links
