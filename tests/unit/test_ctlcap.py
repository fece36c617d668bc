"""ControlCapture: unit tests of the log/pcap decoding, and a live test (root): a silent failure
of ExpressRoute primary (nftables drop in msee1, carrier up) seen as a BFD down on ce1 inside
BFD's window, a BGP withdraw from ce1 to core, and core's FIB moving to the secondary."""
from __future__ import annotations

import socket
import struct
import time

from testbed.measure import ctlcap
from testbed.measure.ctlcap import Frame, _Stream, decode_bgp, first, parse_frr_log, pcap_events

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
