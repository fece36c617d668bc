"""Control-plane events (BGP messages, BFD state changes) with ~1 ms timestamps.

Two sources, both put on the testbed's clock (CLOCK_MONOTONIC ns):

* **Packets.** ``tcpdump -i any`` inside each chosen node captures BGP (TCP 179) and BFD
  (UDP 3784 single hop, 4784 multihop) to ``<out_dir>/<node>.pcap`` (µs timestamps, Linux
  "cooked" headers, immediate mode and packet-buffered output, so a SIGTERM loses nothing;
  they open in Wireshark).  At ``stop()`` the pcaps are
  decoded with scapy (``scapy.contrib.bgp`` for BGP messages, reassembled per TCP stream;
  ``scapy.contrib.bfd`` for BFD control packets).  The kernel stamps packets with the wall
  clock; the offset ``time.time_ns() - time.monotonic_ns()`` is sampled at start (best of
  several, bracket reported) and subtracted.  Only ``host`` timestamps exist on veths
  (``tcpdump -J -i any``), so no ``-j`` option is passed.
* **FRR logs.** ``frr.log`` of each node (``log timestamp precision 6``: µs, local wall
  time) from the byte offset it had at start: ``%ADJCHANGE`` (BGP neighbor up/down with the
  reason), ``%NOTIFICATION`` and bfdd's ``state-change`` lines.  FRR 8.4 with ``frr
  defaults traditional`` writes none of these at ``informational``; with
  ``frr_logging=True`` (default) ``start()`` turns on ``bgp log-neighbor-changes``, ``debug
  bfd peer`` and the log file's ``debugging`` level through vtysh (logging only: routing
  behaviour is unchanged).

Events (``detail["via"]`` is ``"pcap"`` or ``"log"``; ``dir`` is ``"out"`` for what this
node sent, ``"in"`` for what it received):

=================  ======  ================================================================
source             kind    detail
=================  ======  ================================================================
bgp                open / update / withdraw / eor / notification / keepalive /
                   route-refresh (pcap): ``src, dst, sport, dport, local, peer, dir,
                   ifname``; update: ``prefixes, as_path, next_hop``; withdraw:
                   ``prefixes``; notification: ``code, subcode, text``
bgp                adj-up / adj-down (log): ``peer, peer_name, vrf, reason``;
                   notification (log): ``dir, peer, code, subcode, text``
bfd                bfd-down / bfd-up / bfd-init / bfd-admindown (pcap): a change of the
                   state field in the packets one end sends: ``src, dst, sender``
                   (``local``/``remote``), ``from, to, diag``, ``my_disc, your_disc`` and,
                   for a local change, ``last_rx_t_ns``: the last packet received from
                   the peer (detection time = t_ns - last_rx_t_ns)
bfd                bfd-* (log): bfdd's own state change: ``peer, local, ifname, from, to,
                   reason``
=================  ======  ================================================================
"""
from __future__ import annotations

import importlib
import ipaddress
import logging
import os
import re
import select
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from testbed.model.events import Event

log = logging.getLogger(__name__)

BGP_PORT = 179
BFD_PORTS = (3784, 4784)
FILTER = "tcp port 179 or udp port 3784 or udp port 4784"
MARKER = b"\xff" * 16
BFD_STATE = {0: "admindown", 1: "down", 2: "init", 3: "up"}
BFD_DIAG = {0: "none", 1: "control-expired", 2: "echo-failed", 3: "neighbor-down",
            4: "forwarding-reset", 5: "path-down", 6: "concatenated-path-down",
            7: "admin-down", 8: "reverse-concatenated-path-down"}
BGP_TYPES = {1: "open", 2: "update", 3: "notification", 4: "keepalive", 5: "route-refresh"}

# pcap link types
DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_LINUX_SLL2 = 1, 101, 113, 276
PACKET_OUTGOING = 4


# --- clocks --------------------------------------------------------------------------------
def wall_offset_ns(samples: int = 9) -> tuple[int, int]:
    """``(wall - monotonic, bracket)`` in ns: the sample with the tightest bracket."""
    best: tuple[int, int] | None = None
    for _ in range(samples):
        m1 = time.monotonic_ns()
        w = time.time_ns()
        m2 = time.monotonic_ns()
        cand = (m2 - m1, w - (m1 + m2) // 2)
        if best is None or cand[0] < best[0]:
            best = cand
    assert best is not None
    return best[1], best[0]


_LOG_TS = re.compile(r"^(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?\s")


def frr_log_time_ns(line: str) -> int | None:
    """Wall-clock ns of an FRR log line (local time, as FRR writes it); None if no stamp."""
    m = _LOG_TS.match(line)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "0").ljust(9, "0")
    secs = time.mktime((y, mo, d, h, mi, s, 0, 0, -1))
    return int(secs) * 1_000_000_000 + int(frac)


# --- FRR log parsing (pure) ------------------------------------------------------------------
_LINE = re.compile(r"^\S+ \S+ (?P<daemon>[A-Z]+): (?:\[[\w-]+\])?(?:\[EC \d+\])? ?(?P<msg>.*)$")
_BFD_CHANGE = re.compile(r"state-change: \[(?P<key>[^\]]*)\] (?P<from>\S+) -> (?P<to>\S+)(?: reason:(?P<reason>\S+))?")
_ADJ = re.compile(r"%ADJCHANGE: neighbor (?P<peer>[^\s(]+)(?:\((?P<name>[^)]*)\))? in vrf (?P<vrf>\S+) "
                  r"(?P<state>Up|Down)\s*(?P<reason>.*?)\s*$")
_NOTIF = re.compile(r"%NOTIFICATION(?:\((?P<flavour>[^)]*)\))?: (?P<dir>sent to|received from) neighbor "
                    r"(?P<peer>\S+) (?P<code>\d+)/(?P<sub>\d+) \((?P<text>[^)]*)\)")


def parse_frr_log(lines: Iterable[str], node: str, offset_ns: int) -> list[Event]:
    """Events from FRR log lines; ``offset_ns`` = wall - monotonic."""
    out: list[Event] = []
    for line in lines:
        t_wall = frr_log_time_ns(line)
        if t_wall is None:
            continue
        m = _LINE.match(line.rstrip("\n"))
        if not m:
            continue
        msg = m.group("msg")
        t = t_wall - offset_ns
        if (b := _BFD_CHANGE.search(msg)) is not None:
            key = dict(kv.split(":", 1) for kv in b.group("key").split() if ":" in kv)
            to = b.group("to").lower()
            out.append(Event(t, "bfd", node, f"bfd-{to.replace('-', '')}", {
                "via": "log", "peer": key.get("peer"), "local": key.get("local"),
                "ifname": key.get("ifname"), "multihop": key.get("mhop") == "yes",
                "from": b.group("from").lower(), "to": to, "reason": b.group("reason")}))
        elif (a := _ADJ.search(msg)) is not None:
            out.append(Event(t, "bgp", node, "adj-up" if a.group("state") == "Up" else "adj-down", {
                "via": "log", "peer": a.group("peer"), "peer_name": a.group("name"),
                "vrf": a.group("vrf"), "reason": a.group("reason") or None}))
        elif (n := _NOTIF.search(msg)) is not None:
            out.append(Event(t, "bgp", node, "notification", {
                "via": "log", "dir": "out" if n.group("dir") == "sent to" else "in",
                "peer": n.group("peer"), "code": int(n.group("code")), "subcode": int(n.group("sub")),
                "text": n.group("text"), "hard_reset": n.group("flavour") == "Hard Reset"}))
    return out


def read_log_from(path: Path, offset: int) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() < offset:  # truncated or rotated: read it all
                offset = 0
            f.seek(offset)
            return f.read().decode(errors="replace").splitlines()
    except OSError:
        return []


# --- pcap decoding (pure) ---------------------------------------------------------------------
@dataclass
class Frame:
    t_wall_ns: int
    outgoing: bool | None
    ifindex: int | None
    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    seq: int = 0
    flags: int = 0
    payload: bytes = b""


def _l3(linktype: int, data: bytes) -> tuple[bytes, bool | None, int | None] | None:
    """(IP packet, outgoing, ifindex) of a captured frame, or None if not IPv4/IPv6."""
    if linktype == DLT_LINUX_SLL2:
        if len(data) < 20:
            return None
        proto, _res, ifx, _hatype, pkttype, _alen = struct.unpack_from("!HHiHBB", data)
        return (data[20:], pkttype == PACKET_OUTGOING, ifx) if proto in (0x0800, 0x86DD) else None
    if linktype == DLT_LINUX_SLL:
        if len(data) < 16:
            return None
        pkttype = struct.unpack_from("!H", data)[0]
        proto = struct.unpack_from("!H", data, 14)[0]
        return (data[16:], pkttype == PACKET_OUTGOING, None) if proto in (0x0800, 0x86DD) else None
    if linktype == DLT_EN10MB:
        if len(data) < 14:
            return None
        proto = struct.unpack_from("!H", data, 12)[0]
        return (data[14:], None, None) if proto in (0x0800, 0x86DD) else None
    if linktype == DLT_RAW:
        return data, None, None
    return None


def parse_frame(linktype: int, t_wall_ns: int, data: bytes) -> Frame | None:
    l3 = _l3(linktype, data)
    if l3 is None:
        return None
    ip, outgoing, ifx = l3
    if not ip:
        return None
    ver = ip[0] >> 4
    if ver == 4:
        if len(ip) < 20:
            return None
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack_from("!H", ip, 2)[0]
        frag = struct.unpack_from("!H", ip, 6)[0]
        if frag & 0x1FFF:
            return None  # non-first fragment
        proto = ip[9]
        src, dst = socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20])
        l4 = ip[ihl:total] if total >= ihl else ip[ihl:]
    elif ver == 6:
        if len(ip) < 40:
            return None
        plen = struct.unpack_from("!H", ip, 4)[0]
        proto = ip[6]
        src, dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
        l4 = ip[40:40 + plen]
    else:
        return None
    if proto == 6 and len(l4) >= 20:
        sport, dport, seq, _ack, off_flags = struct.unpack_from("!HHIIH", l4)
        doff = (off_flags >> 12) * 4
        return Frame(t_wall_ns, outgoing, ifx, src, dst, 6, sport, dport, seq, off_flags & 0x1FF,
                     bytes(l4[doff:]))
    if proto == 17 and len(l4) >= 8:
        sport, dport, ulen = struct.unpack_from("!HHH", l4)
        return Frame(t_wall_ns, outgoing, ifx, src, dst, 17, sport, dport,
                     payload=bytes(l4[8:ulen] if ulen >= 8 else l4[8:]))
    return None


def read_pcap(path: str | Path) -> Iterator[Frame]:
    from scapy.utils import RawPcapReader
    with RawPcapReader(str(path)) as r:
        linktype = r.linktype
        nano = bool(getattr(r, "nano", False))
        for data, meta in r:
            if hasattr(meta, "sec"):
                t = meta.sec * 1_000_000_000 + meta.usec * (1 if nano else 1000)
            else:  # pcapng
                t = ((meta.tshigh << 32) | meta.tslow) * 1_000_000_000 // (meta.tsresol or 1_000_000)
            f = parse_frame(linktype, t, data)
            if f is not None:
                yield f


class _Stream:
    """One direction of a TCP connection: reassembles bytes and cuts BGP messages."""

    MAX_PENDING = 256

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.buf = bytearray()
        self.pending: dict[int, bytes] = {}

    def feed(self, seq: int, flags: int, payload: bytes) -> Iterator[bytes]:
        # Only a SYN starts over: FIN and RST segments may be followed by retransmissions of
        # data already seen (a NOTIFICATION is often retransmitted with FIN set).
        if flags & 0x02:
            self.next_seq = (seq + 1) & 0xFFFFFFFF
            self.buf.clear()
            self.pending.clear()
            return
        if not payload:
            return
        if self.next_seq is None:  # joined mid-stream: resynchronise on the BGP marker
            self.next_seq = seq
        self.pending[seq] = payload
        while self.pending:
            progressed = False
            for s in list(self.pending):
                p = self.pending[s]
                rel = (s - self.next_seq) & 0xFFFFFFFF
                if rel >= 0x80000000:  # starts before next_seq: old data or an overlap
                    behind = (self.next_seq - s) & 0xFFFFFFFF
                    del self.pending[s]
                    if behind < len(p):
                        self.buf += p[behind:]
                        self.next_seq = (self.next_seq + len(p) - behind) & 0xFFFFFFFF
                        progressed = True
                elif rel == 0:
                    del self.pending[s]
                    self.buf += p
                    self.next_seq = (self.next_seq + len(p)) & 0xFFFFFFFF
                    progressed = True
            if not progressed:
                if len(self.pending) > self.MAX_PENDING:  # a hole never filled: skip it
                    first = min(self.pending, key=lambda s: (s - self.next_seq) & 0xFFFFFFFF)
                    self.next_seq = first
                    self.buf.clear()
                    continue
                break
        yield from self._messages()

    def _messages(self) -> Iterator[bytes]:
        buf = self.buf
        while len(buf) >= 19:
            if buf[:16] != MARKER:
                i = buf.find(MARKER, 1)
                if i < 0:
                    del buf[:-15]
                    return
                del buf[:i]
                continue
            ln = struct.unpack_from("!H", buf, 16)[0]
            if ln < 19 or ln > 65535:
                del buf[:1]
                continue
            if len(buf) < ln:
                return
            msg = bytes(buf[:ln])
            del buf[:ln]
            yield msg


_scapy_ready = False


def _scapy_bgp():
    global _scapy_ready
    if not _scapy_ready:
        # scapy.contrib.bgp announces its ASN width on import (a warning on stderr): mute it
        rt = logging.getLogger("scapy.runtime")
        level = rt.level
        rt.setLevel(logging.ERROR)
        try:
            importlib.import_module("scapy.contrib.bgp")  # the import that prints
        finally:
            rt.setLevel(level)
    from scapy.contrib import bgp
    if not _scapy_ready:
        # FRR always negotiates 4-byte AS numbers (RFC 6793); scapy defaults to 2 bytes.
        bgp.bgp_module_conf.use_2_bytes_asn = False
        _scapy_ready = True
    return bgp


def _prefixes(nlri_list) -> list[str]:
    out = []
    for n in nlri_list or []:
        p = getattr(n, "prefix", None)
        if p is not None:
            out.append(str(ipaddress.ip_network(p, strict=False)))
    return out


def decode_bgp(msg: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(kind, detail) of one BGP message (bytes from the marker on)."""
    bgp = _scapy_bgp()
    mtype = msg[18]
    kind = BGP_TYPES.get(mtype, f"type-{mtype}")
    if mtype == 4:
        return [("keepalive", {})]
    try:
        pkt = bgp.BGPHeader(msg)
    except Exception as e:  # a malformed message must not end the analysis
        return [(kind, {"error": repr(e)})]
    if mtype == 1 and pkt.haslayer(bgp.BGPOpen):
        o = pkt[bgp.BGPOpen]
        return [("open", {"my_as": int(o.my_as), "hold_time": int(o.hold_time), "bgp_id": str(o.bgp_id)})]
    if mtype == 3 and pkt.haslayer(bgp.BGPNotification):
        n = pkt[bgp.BGPNotification]
        code, sub = int(n.error_code), int(n.error_subcode)
        d: dict[str, Any] = {"code": code, "subcode": sub, "text": NOTIFICATION_TEXT.get((code, sub)) or
                             NOTIFICATION_TEXT.get((code, 0), f"{code}/{sub}")}
        data = bytes(n.data or b"")
        if code == 6 and sub == 9 and len(data) >= 2:  # Hard Reset (RFC 8538) wraps the cause
            d["hard_reset"] = True
            d["inner"] = NOTIFICATION_TEXT.get((data[0], data[1]), f"{data[0]}/{data[1]}")
        return [("notification", d)]
    if mtype == 2 and pkt.haslayer(bgp.BGPUpdate):
        u = pkt[bgp.BGPUpdate]
        withdrawn = _prefixes(u.withdrawn_routes)
        nlri = _prefixes(u.nlri)
        attrs: dict[str, Any] = {}
        for a in u.path_attr or []:
            code = int(a.type_code)
            at = a.attribute
            if code == 2 and at is not None:
                path: list[int] = []
                for seg in getattr(at, "segments", []) or []:
                    path += [int(x) for x in (seg.segment_value or [])]
                attrs["as_path"] = path
            elif code == 3 and at is not None:
                attrs["next_hop"] = str(at.next_hop)
            elif code == 5 and at is not None:
                attrs["local_pref"] = int(at.local_pref)
            elif code == 4 and at is not None:
                attrs["med"] = int(at.med)
            elif code in (14, 15):  # MP_REACH / MP_UNREACH (IPv6 etc.): flag, not decoded
                attrs.setdefault("mp", []).append(code)
        out: list[tuple[str, dict[str, Any]]] = []
        if withdrawn:
            out.append(("withdraw", {"prefixes": withdrawn}))
        if nlri:
            out.append(("update", dict(prefixes=nlri, **attrs)))
        if not out:
            out.append(("eor" if not attrs else "update", dict(prefixes=[], **attrs)))
        return out
    return [(kind, {})]


NOTIFICATION_TEXT = {
    (1, 0): "Message Header Error", (2, 0): "OPEN Message Error", (3, 0): "UPDATE Message Error",
    (4, 0): "Hold Timer Expired", (5, 0): "FSM Error", (6, 0): "Cease",
    (6, 1): "Cease/Maximum Number of Prefixes Reached", (6, 2): "Cease/Administrative Shutdown",
    (6, 3): "Cease/Peer De-configured", (6, 4): "Cease/Administrative Reset",
    (6, 5): "Cease/Connection Rejected", (6, 6): "Cease/Other Configuration Change",
    (6, 7): "Cease/Connection Collision Resolution", (6, 8): "Cease/Out of Resources",
    (6, 9): "Cease/Hard Reset", (6, 10): "Cease/BFD Down",
}


def decode_bfd(payload: bytes) -> dict[str, Any] | None:
    if len(payload) < 24:
        return None
    from scapy.contrib.bfd import BFD
    b = BFD(payload)
    return {"state": BFD_STATE.get(int(b.sta), str(int(b.sta))), "diag": BFD_DIAG.get(int(b.diag), str(int(b.diag))),
            "my_disc": int(b.my_discriminator), "your_disc": int(b.your_discriminator),
            "detect_mult": int(b.detect_mult), "min_tx_us": int(b.min_tx_interval),
            "min_rx_us": int(b.min_rx_interval)}


def pcap_events(frames: Iterable[Frame], node: str, offset_ns: int, local_addrs: set[str] = frozenset(),
                ifnames: dict[int, str] | None = None, keepalives: bool = False) -> list[Event]:
    """BGP and BFD events of one node's capture; ``offset_ns`` = wall - monotonic."""
    ifnames = ifnames or {}
    streams: dict[tuple, _Stream] = {}
    bfd_last: dict[tuple[str, str], str] = {}
    bfd_last_rx: dict[tuple[str, str], int] = {}
    out: list[Event] = []
    for f in frames:
        t = f.t_wall_ns - offset_ns
        outgoing = f.outgoing if f.outgoing is not None else (f.src in local_addrs)
        base = {"via": "pcap", "src": f.src, "dst": f.dst, "dir": "out" if outgoing else "in",
                "local": f.src if outgoing else f.dst, "peer": f.dst if outgoing else f.src,
                "ifname": ifnames.get(f.ifindex) if f.ifindex is not None else None}
        if f.proto == 6 and BGP_PORT in (f.sport, f.dport):
            key = (f.src, f.sport, f.dst, f.dport)
            st = streams.setdefault(key, _Stream())
            for msg in st.feed(f.seq, f.flags, f.payload):
                for kind, d in decode_bgp(msg):
                    if kind == "keepalive" and not keepalives:
                        continue
                    out.append(Event(t, "bgp", node, kind, dict(base, sport=f.sport, dport=f.dport, **d)))
        elif f.proto == 17 and f.dport in BFD_PORTS:
            b = decode_bfd(f.payload)
            if b is None:
                continue
            key = (f.src, f.dst)
            pair = tuple(sorted((f.src, f.dst)))
            if not outgoing:
                prev_rx = bfd_last_rx.get(pair)
                bfd_last_rx[pair] = t
            prev = bfd_last.get(key)
            bfd_last[key] = b["state"]
            if prev is not None and prev != b["state"]:
                d = dict(base, sender="local" if outgoing else "remote", **{"from": prev, "to": b["state"]}, **b)
                if outgoing:
                    d["last_rx_t_ns"] = bfd_last_rx.get(pair)
                else:
                    d["prev_rx_t_ns"] = prev_rx
                out.append(Event(t, "bfd", node, f"bfd-{b['state']}", d))
    return out


# --- the capture ------------------------------------------------------------------------------
@dataclass
class NodeCapture:
    node: str
    pcap: Path
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    log_offset: int = 0
    ifnames: dict[int, str] = field(default_factory=dict)
    addrs: set[str] = field(default_factory=set)
    tcpdump_stats: dict[str, int] = field(default_factory=dict)
    stderr: str = ""


_IPLINK = re.compile(r"^(\d+): ([^:@\s]+)")
_TCPDUMP_STATS = re.compile(r"(\d+) packets? (captured|received by filter|dropped by kernel)")


class ControlCapture:
    """Capture BGP/BFD on ``nodes`` between ``start()`` and ``stop()`` (-> list[Event]).

    ``out_dir``: where the pcaps go (default ``net.dir``, which ``Network.stop()`` deletes:
    pass a results directory to keep them).  ``logs``: also parse each node's ``frr.log``;
    ``frr_logging``: turn on the FRR logging those lines need (see the module doc).
    ``keepalives``: keep BGP KEEPALIVE events (dropped by default).
    """

    def __init__(self, net: Any, nodes: Iterable[str], out_dir: str | Path | None = None,
                 logs: bool = True, frr_logging: bool = True, keepalives: bool = False,
                 ready_timeout_s: float = 5.0) -> None:
        self.net = net
        self.nodes = list(nodes)
        self.out_dir = Path(out_dir) if out_dir is not None else Path(net.dir)
        self.logs = logs
        self.frr_logging = frr_logging
        self.keepalives = keepalives
        self.ready_timeout_s = ready_timeout_s
        self.caps: dict[str, NodeCapture] = {}
        self.offset_ns = 0
        self.offset_bracket_ns = 0
        self.offset_drift_ns: int | None = None
        self.events: list[Event] = []
        self._started = False

    @property
    def pcaps(self) -> dict[str, Path]:
        return {n: c.pcap for n, c in self.caps.items()}

    def __enter__(self) -> "ControlCapture":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._started:
            self.stop()

    # --- lifecycle ---
    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._started = True
        try:
            for n in self.nodes:
                self.caps[n] = cap = NodeCapture(n, self.out_dir / f"{n}.pcap")
                self._inventory(cap)
                if self.logs:
                    self._prepare_log(cap)
            self.offset_ns, self.offset_bracket_ns = wall_offset_ns()
            for cap in self.caps.values():
                self._start_tcpdump(cap)
            for cap in self.caps.values():
                self._wait_ready(cap)
        except BaseException:
            self._stop_tcpdumps()
            self._started = False
            raise

    def stop(self) -> list[Event]:
        """Stop the captures (SIGTERM by pid) and return every event, in time order."""
        if not self._started:
            return self.events
        self._started = False
        self._stop_tcpdumps()
        end_offset, _ = wall_offset_ns()
        self.offset_drift_ns = end_offset - self.offset_ns
        if abs(self.offset_drift_ns) > 500_000:
            log.warning("wall clock moved %.3f ms against CLOCK_MONOTONIC during the capture: "
                        "pcap/log times are off by up to that much", self.offset_drift_ns / 1e6)
        events: list[Event] = []
        for cap in self.caps.values():
            if cap.pcap.exists() and cap.pcap.stat().st_size > 0:
                try:
                    events += pcap_events(read_pcap(cap.pcap), cap.node, self.offset_ns, cap.addrs,
                                          cap.ifnames, self.keepalives)
                except Exception as e:  # a torn pcap: keep what the other sources give
                    log.warning("decoding %s failed: %r", cap.pcap, e)
            if cap.log_path is not None:
                events += parse_frr_log(read_log_from(cap.log_path, cap.log_offset), cap.node, self.offset_ns)
        events.sort(key=lambda e: e.t_ns)
        self.events = events
        return events

    def summary(self) -> dict[str, Any]:
        return {"pcaps": {n: str(p) for n, p in self.pcaps.items()},
                "clock_offset_ns": self.offset_ns, "clock_offset_bracket_ns": self.offset_bracket_ns,
                "clock_drift_ns": self.offset_drift_ns,
                "tcpdump": {n: c.tcpdump_stats for n, c in self.caps.items()}}

    # --- internals ---
    def _inventory(self, cap: NodeCapture) -> None:
        out = self.net.cmd(cap.node, "ip -o link show; ip -o addr show")
        for line in out.splitlines():
            m = _IPLINK.match(line)
            if m and " link/" in line:
                cap.ifnames[int(m.group(1))] = m.group(2)
            parts = line.split()
            if len(parts) > 3 and parts[2] in ("inet", "inet6"):
                cap.addrs.add(parts[3].split("/")[0])

    def _prepare_log(self, cap: NodeCapture) -> None:
        path = Path(self.net.dir) / cap.node / "frr.log"
        frr = getattr(self.net, "frr", {}).get(cap.node)
        if frr is None or not path.exists():
            return
        cap.log_path = path
        if self.frr_logging:
            router = self.net.topo.routers.get(cap.node) if hasattr(self.net, "topo") else None
            cmds = ["configure terminal", f"log file {path} debugging"]
            if router is not None and getattr(router, "asn", None):
                cmds += [f"router bgp {router.asn}", "bgp log-neighbor-changes", "end"]
            else:
                cmds += ["end"]
            if router is None or "bfdd" in getattr(router, "daemons", ("bfdd",)):
                cmds += ["debug bfd peer"]
            out = frr.vtysh(*cmds)
            if out.strip():
                log.warning("enabling FRR logging on %s: %s", cap.node, out.strip()[:300])
        cap.log_offset = path.stat().st_size

    def _start_tcpdump(self, cap: NodeCapture) -> None:
        # --immediate-mode: without it packets wait in the kernel ring for up to a second and
        # whatever is still there when SIGTERM arrives is lost.
        argv = ["tcpdump", "-i", "any", "-n", "-U", "--immediate-mode", "-w", str(cap.pcap), "-Z", "root",
                "--time-stamp-precision=micro", "-B", "4096", FILTER]
        node = getattr(self.net, "nodes", {}).get(cap.node)
        if node is not None:
            cap.proc = node.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        else:  # a run another process owns: enter the node by its pid
            cap.proc = subprocess.Popen(["mnexec", "-a", str(self.net.pid(cap.node)), *argv],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)

    def _wait_ready(self, cap: NodeCapture) -> None:
        """tcpdump says "listening on" once its socket is bound and filtering."""
        assert cap.proc is not None and cap.proc.stderr is not None
        deadline = time.monotonic() + self.ready_timeout_s
        fd = cap.proc.stderr.fileno()
        buf = b""
        while b"listening on" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"tcpdump on {cap.node} did not start: {buf.decode(errors='replace')[:300]}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise RuntimeError(f"tcpdump on {cap.node} exited: {buf.decode(errors='replace')[:300]}")
                buf += chunk
        cap.stderr = buf.decode(errors="replace")

    def _stop_tcpdumps(self) -> None:
        procs = [c for c in self.caps.values() if c.proc is not None]
        for c in procs:
            if c.proc.poll() is None:
                try:
                    os.kill(c.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for c in procs:
            p = c.proc
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
            if p.stderr is not None:
                try:
                    c.stderr += p.stderr.read().decode(errors="replace")
                finally:
                    p.stderr.close()
            c.tcpdump_stats = {m.group(2).replace(" ", "_"): int(m.group(1))
                               for m in _TCPDUMP_STATS.finditer(c.stderr)}
            if c.tcpdump_stats.get("dropped_by_kernel"):
                log.warning("tcpdump on %s: %d packets dropped by the kernel: control events are missing",
                            c.node, c.tcpdump_stats["dropped_by_kernel"])
            c.proc = None


def first(events: Iterable[Event], source: str | None = None, kind: str | None = None,
          node: str | None = None, after_ns: int | None = None, **match: Any) -> Event | None:
    """The first event matching every given field (``match`` compares ``detail`` entries;
    a list value in detail matches when it contains the wanted value)."""
    for e in sorted(events, key=lambda e: e.t_ns):
        if source is not None and e.source != source or kind is not None and e.kind != kind:
            continue
        if node is not None and e.node != node or after_ns is not None and e.t_ns < after_ns:
            continue
        ok = True
        for k, v in match.items():
            have = e.detail.get(k)
            if isinstance(have, list) and not isinstance(v, list):
                ok = v in have
            else:
                ok = have == v
            if not ok:
                break
        if ok:
            return e
    return None
