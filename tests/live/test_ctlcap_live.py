"""ControlCapture: unit tests of the log/pcap decoding, and a live test (root): a silent failure
of ExpressRoute primary (nftables drop in msee1, carrier up) seen as a BFD down on ce1 inside
BFD's window, a BGP withdraw from ce1 to core, and core's FIB moving to the secondary."""
from __future__ import annotations

import os
import time

import pytest

from testbed.measure import ctlcap
from testbed.measure.ctlcap import first
from testbed.observe import converge

ROOT = os.geteuid() == 0
MS = 1_000_000


# --- live -------------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.skipif(not ROOT, reason="needs root (namespaces, FRR, tcpdump, nftables)")
def test_silent_er_failure_bfd_withdraw_and_fib(tmp_path):
    from testbed.faults import Blackhole
    from testbed.measure.fibwatch import FibWatcher
    from testbed.model import catalog
    from testbed.runtime.net import Network

    topo = catalog.build("expressroute", {"bfd.interval_ms": 300})
    er = topo.link_by_label("er-primary")
    msee1_er = er.end("msee1")
    core_link = topo.link_by_label("core-ce1")
    ce1_core = core_link.end("ce1")
    core_ce2 = topo.link_by_label("core-ce2").end("core")
    ce2_core = topo.link_by_label("core-ce2").end("ce2")
    with Network(topo, run="meas1") as net:
        converge.wait_converged(net)
        cap = ctlcap.ControlCapture(net, ["ce1", "msee1", "core"], out_dir=tmp_path)
        fw = FibWatcher(net, ["core", "ce1"])
        fault = Blackhole("er-primary", node="msee1")  # both directions, carrier stays up

        try:
            cap.start()
            fw.start()
            with fault.armed(net):
                time.sleep(0.7)  # over two BFD intervals: the capture hears msee1 before the drop
                injected = fault.inject(net)
                a1, a2 = injected.detail["issued_ns"], injected.t_ns
                time.sleep(1.3)
                fault.restore(net)
        finally:
            fib = fw.stop()
            events = cap.stop()
        assert "tbfault" not in net.cmd("msee1", "nft list tables")

    def since(e):
        return (e.t_ns - a2) / 1e9

    peer = str(msee1_er.addr.ip)
    # bfdd's own state change (log) and the first Down packet ce1 sent (pcap)
    log_down = first(events, "bfd", "bfd-down", "ce1", after_ns=a1, via="log", peer=peer)
    pkt_down = first(events, "bfd", "bfd-down", "ce1", after_ns=a1, via="pcap", dir="out")
    assert log_down and pkt_down, [e for e in events if e.source == "bfd"]
    assert pkt_down.detail["last_rx_t_ns"] is not None, "ce1's capture heard no BFD from msee1 before the drop"
    print(f"BFD down on ce1 {since(log_down):.3f} s (log), {since(pkt_down):.3f} s (pcap) after the drop; "
          f"{(pkt_down.t_ns - pkt_down.detail['last_rx_t_ns']) / 1e6:.1f} ms after the last packet heard")
    assert log_down.detail["reason"] == "control-expired" and pkt_down.detail["diag"] == "control-expired"
    for e in (log_down, pkt_down):
        assert 0.6 - (a2 - a1) / 1e9 <= since(e) <= 0.93, e  # (M-1)*I .. M*I, plus processing
    assert 0.88 <= (pkt_down.t_ns - pkt_down.detail["last_rx_t_ns"]) / 1e9 <= 0.95  # M*I after last rx
    assert abs(log_down.t_ns - pkt_down.t_ns) < 5 * MS  # pcap and log clocks agree
    # BGP: ce1 tears the session down and withdraws the VNet prefix toward core
    assert first(events, "bgp", "adj-down", "ce1", after_ns=a1, peer=peer)
    # the NOTIFICATION as captured; FRR's log has it too, for when tcpdump lost the packet
    notif = (first(events, "bgp", "notification", "ce1", after_ns=a1, via="pcap", dir="out")
             or first(events, "bgp", "notification", "ce1", after_ns=a1, via="log"))
    assert notif, [e for e in events if e.source == "bgp"]
    assert notif.detail.get("via") == "log" or notif.detail.get("inner") == "Cease/BFD Down"
    wd_out = first(events, "bgp", "withdraw", "ce1", after_ns=a1, dir="out", prefixes="10.10.0.0/16")
    wd_in = first(events, "bgp", "withdraw", "core", after_ns=a1, dir="in", prefixes="10.10.0.0/16")
    assert wd_out and wd_in and wd_in.detail["peer"] == str(ce1_core.addr.ip)
    assert log_down.t_ns < wd_out.t_ns <= wd_in.t_ns < wd_out.t_ns + 20 * MS
    # FIB: core's VNet route goes from ECMP over both CEs to the secondary only
    assert not fw.overflow
    tl = fw.timeline("core", "10.10.0.0/16")
    gws = [sorted(h["gateway"] for h in hops) if hops else hops for _, hops in tl]
    both = sorted([str(ce1_core.addr.ip), str(ce2_core.addr.ip)])
    assert gws[0] == both, tl
    moved = next((t for t, hops in tl if hops and [h["gateway"] for h in hops] == [str(ce2_core.addr.ip)]), None)
    assert moved is not None and moved > wd_in.t_ns, tl
    print(f"withdraw at core {since(wd_in):.3f} s, core FIB moved to ce2 {(moved - a2) / 1e9:.3f} s after the drop")
    assert core_ce2.name in [h["ifname"] for _, hops in tl if hops for h in hops]
    # ce1 itself moves its route too: to ce2 over the CE pair's iBGP link (or drops it without one)
    ce1_change = next((e for e in fib if e.node == "ce1" and e.kind.startswith("route-") and e.t_ns > a1
                       and e.detail.get("prefix") == "10.10.0.0/16"), None)
    assert ce1_change and ce1_change.t_ns > log_down.t_ns
    # the pcaps stay for Wireshark
    for n in ("ce1", "msee1", "core"):
        assert (tmp_path / f"{n}.pcap").stat().st_size > 24
    assert cap.summary()["tcpdump"]["ce1"].get("dropped_by_kernel") == 0
