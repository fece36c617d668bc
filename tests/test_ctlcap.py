"""ControlCapture: unit tests of the log/pcap decoding, and a live test (root): a silent failure
of ExpressRoute primary (nftables drop in msee1, carrier up) seen as a BFD down on ce1 inside
BFD's window, a BGP withdraw from ce1 to core, and core's FIB moving to the secondary."""
from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from testbed.measure import ctlcap
from testbed.measure.ctlcap import Frame, _Stream, decode_bgp, first, parse_frr_log, pcap_events
from testbed.observe import converge

ROOT = os.geteuid() == 0
MS = 1_000_000


# --- pure -----------------------------------------------------------------------------------
def test_frr_log_lines():
    lines = [
        "2026/11/25 18:54:13.308650 BFD: [SEY1D-NT8EQ] state-change: [mhop:no peer:192.168.100.130 "
        "local:192.168.100.129 vrf:default ifname:ce1-eth1] up -> down reason:control-expired",
        "2026/11/25 18:54:13.308999 BGP: [HZN6M-XRM1G] %NOTIFICATION(Hard Reset): sent to neighbor "
        "192.168.100.130 6/10 (Cease/BFD Down) 0 bytes ",
        "2026/11/25 18:54:13.309082 BGP: [PXVXG-TFNNT] %ADJCHANGE: neighbor 192.168.100.130(msee1) in vrf "
        "default Down BGP Notification send",
        "2026/11/25 18:54:15.327143 BGP: [N9HHH-F8H1M] %ADJCHANGE: neighbor 192.168.100.130(msee1) in vrf default Up",
        "2026/11/25 18:54:15.326630 BGP: [TXY0T-CYY6F][EC 100663299] Can't get remote address and port",
        "not a log line",
    ]
    off = 1_000_000_000
    ev = parse_frr_log(lines, "ce1", off)
    assert [(e.source, e.kind) for e in ev] == [("bfd", "bfd-down"), ("bgp", "notification"),
                                                ("bgp", "adj-down"), ("bgp", "adj-up")]
    wall = ctlcap.frr_log_time_ns(lines[0])
    assert wall % 1_000_000_000 == 308_650_000 and ev[0].t_ns == wall - off
    assert time.localtime(wall // 1_000_000_000)[:6] == (2026, 11, 25, 18, 54, 13)
    b = ev[0].detail
    assert (b["peer"], b["local"], b["ifname"], b["from"], b["to"], b["reason"]) == (
        "192.168.100.130", "192.168.100.129", "ce1-eth1", "up", "down", "control-expired")
    n = ev[1].detail
    assert (n["dir"], n["code"], n["subcode"], n["text"], n["hard_reset"]) == ("out", 6, 10, "Cease/BFD Down", True)
    assert ev[2].detail["peer_name"] == "msee1" and ev[2].detail["reason"] == "BGP Notification send"
    assert ev[3].detail["reason"] is None


def _update(withdrawn=(), nlri=(), as_path=(12076,), next_hop="192.168.100.130") -> bytes:
    def pfx(p):
        net, ln = p.split("/")
        ln = int(ln)
        return bytes([ln]) + socket.inet_aton(net)[: (ln + 7) // 8]
    wd = b"".join(pfx(p) for p in withdrawn)
    attrs = b""
    if nlri:
        seg = bytes([2, len(as_path)]) + b"".join(struct.pack("!I", a) for a in as_path)
        attrs = (bytes([0x40, 1, 1, 0]) + bytes([0x40, 2, len(seg)]) + seg
                 + bytes([0x40, 3, 4]) + socket.inet_aton(next_hop))
    body = struct.pack("!H", len(wd)) + wd + struct.pack("!H", len(attrs)) + attrs + b"".join(pfx(p) for p in nlri)
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), 2) + body


def test_decode_bgp_messages():
    assert decode_bgp(_update(withdrawn=["10.10.0.0/16"])) == [("withdraw", {"prefixes": ["10.10.0.0/16"]})]
    ((kind, d),) = decode_bgp(_update(nlri=["10.10.0.0/16", "10.11.0.0/24"], as_path=(12076, 4200000000)))
    assert kind == "update" and d["prefixes"] == ["10.10.0.0/16", "10.11.0.0/24"]
    assert d["as_path"] == [12076, 4200000000] and d["next_hop"] == "192.168.100.130"  # 4-byte ASNs
    assert decode_bgp(_update()) == [("eor", {"prefixes": []})]
    notif = b"\xff" * 16 + struct.pack("!HBBB", 23, 3, 6, 9) + bytes([6, 10])
    ((kind, d),) = decode_bgp(notif)
    assert kind == "notification" and d["text"] == "Cease/Hard Reset" and d["inner"] == "Cease/BFD Down"
    assert decode_bgp(b"\xff" * 16 + struct.pack("!HB", 19, 4)) == [("keepalive", {})]


def test_tcp_stream_reassembly():
    m1, m2 = _update(withdrawn=["10.10.0.0/16"]), _update(nlri=["10.20.0.0/16"])
    s = _Stream()
    assert list(s.feed(999, 0x02, b"")) == []          # SYN: seq 1000 comes next
    data = m1 + m2
    assert len(m1) > 15
    assert list(s.feed(1000 + 5, 0x18, data[5:15])) == []   # out of order: held
    assert list(s.feed(1000, 0x18, data[:5])) == []          # fills the hole, m1 still partial
    got = list(s.feed(1015, 0x18, data[15:]))
    assert got == [m1, m2]
    assert list(s.feed(1000, 0x19, data[:40])) == []   # retransmission with FIN: nothing new
    # joining mid-stream: resynchronise on the marker
    s2 = _Stream()
    assert list(s2.feed(5000, 0x18, m1[7:] + m2)) == [m2]


def test_pcap_events_bfd_transitions_and_bgp():
    def bfd(state, diag=0):
        return bytes([0x20 | diag, state << 6, 3, 24]) + struct.pack("!IIIII", 1, 2, 300000, 300000, 50000)
    local, peer = "192.168.100.129", "192.168.100.130"
    frames = [
        Frame(1_000 * MS, True, 3, local, peer, 17, 49152, 3784, payload=bfd(3)),
        Frame(1_001 * MS, False, 3, peer, local, 17, 49152, 3784, payload=bfd(3)),
        Frame(1_200 * MS, False, 3, peer, local, 17, 49152, 3784, payload=bfd(3)),   # last rx
        Frame(2_105 * MS, True, 3, local, peer, 17, 49152, 3784, payload=bfd(1, 1)),
        Frame(2_170 * MS, True, 2, "10.20.255.2", "10.20.255.1", 6, 179, 33000, 7, 0x18,
              _update(withdrawn=["10.10.0.0/16"])),
    ]
    ev = pcap_events(frames, "ce1", offset_ns=1_000 * MS, ifnames={3: "ce1-eth1", 2: "ce1-eth0"})
    assert [(e.kind, e.t_ns) for e in ev] == [("bfd-down", 1_105 * MS), ("withdraw", 1_170 * MS)]
    d = ev[0].detail
    assert (d["sender"], d["from"], d["to"], d["diag"], d["ifname"]) == ("local", "up", "down",
                                                                         "control-expired", "ce1-eth1")
    assert ev[0].t_ns - d["last_rx_t_ns"] == 905 * MS
    assert ev[1].detail["dir"] == "out" and ev[1].detail["peer"] == "10.20.255.1"
    assert first(ev, kind="withdraw", prefixes="10.10.0.0/16") is ev[1]
    assert first(ev, kind="withdraw", prefixes="10.99.0.0/16") is None


# --- live -------------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.skipif(not ROOT, reason="needs root (namespaces, FRR, tcpdump, nftables)")
def test_silent_er_failure_bfd_withdraw_and_fib(tmp_path):
    from testbed.model import catalog
    from testbed.measure.calibrate import NftInjector
    from testbed.measure.fibwatch import FibWatcher
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
        inj = None
        try:
            cap.start()
            fw.start()
            inj = NftInjector(net.nodes["msee1"])
            inj.setup_table("tbfault")
            time.sleep(0.7)  # over two BFD intervals: the capture hears msee1 before the drop
            a1, a2 = inj.drop(msee1_er.name, "tbfault")  # both directions, carrier stays up
            time.sleep(1.3)
        finally:
            if inj is not None:
                try:
                    inj.delete_table("tbfault")
                finally:
                    inj.close()
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
