"""Faults and path marks: their rules and configs (no root), then each one on a live network."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from testbed import faults
from testbed.errors import TestbedError
from testbed.faults.netem import netem_available
from testbed.measure import pathmark
from testbed.model import catalog
from testbed.observe import checks, converge, peers
from testbed.system.poll import seconds_until

# --- live -------------------------------------------------------------------------------------
live = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces, FRR, nftables)")


@pytest.fixture(scope="module")
def net():
    from testbed.runtime.net import Network
    with Network(catalog.build("expressroute", {}), run=f"scenf{os.getpid() % 10000}") as n:
        converge.wait_converged(n)
        yield n


def _wait(cond, timeout: float = 15.0) -> bool:
    return seconds_until(cond, timeout) is not None


def _operstate(net, label: str, end: str) -> str:
    intf = getattr(net.topo.link_named(label), end)
    return net.cmd(intf.node, f"cat /sys/class/net/{intf.name}/operstate")


def _session(net, router: str, addr: str) -> str:
    return peers.bgp(net, router).get(addr, {}).get("state", "")


@pytest.mark.integration
@live
def test_blackhole_silences_the_link_and_restore_undoes_it(net):
    f = faults.Blackhole("er-primary")
    ev = f.inject(net)
    try:
        assert ev.source == "fault" and ev.kind == "inject" and ev.detail["issued_ns"] <= ev.t_ns
        assert not net.ping("ce1", "192.168.100.130")
        assert "up" in _operstate(net, "er-primary", "a")  # carrier stays
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
        assert "down" in _operstate(net, "er-primary", "a") and "down" in _operstate(net, "er-primary", "b")
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
        """The AS path ce1 holds from msee1 itself: with the prepend on, ce1's best path may be
        another one (ce2's, over the interconnect), so the first path listed proves nothing."""
        paths = checks.bgp_received(net, "ce1", "er-primary").get("10.10.0.0/16", [])
        return paths[0].get("path", "") if paths else ""
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
    if netem_available(net, "ce1"):
        pytest.skip("this kernel has netem")
    with pytest.raises(TestbedError, match="no netem qdisc"):
        faults.Delay("er-primary").inject(net)


@pytest.mark.integration
@live
def test_probe_records_the_mark_of_the_path_each_packet_took(net, tmp_path):
    from testbed.measure.records import load_records
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
