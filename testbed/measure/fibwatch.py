"""FIB watcher: every kernel route, nexthop and link change inside chosen nodes, stamped on receipt.

One thread serves every watched node: it holds one ``AF_NETLINK``/``NETLINK_ROUTE`` socket per
node (each opened inside the node's network namespace with :func:`testbed.system.kernel.in_netns`),
subscribed to the IPv4 route group, the nexthop group (``RTNLGRP_NEXTHOP`` = 32, joined with
``NETLINK_ADD_MEMBERSHIP``) and the link group.  The thread does nothing but ``recv`` and stamp
each datagram with :func:`testbed.model.events.now_ns` (netlink carries no kernel timestamp); decoding
happens in :meth:`FibWatcher.stop`, so a burst (zebra installing thousands of routes) costs the
receive loop a few microseconds per message.

Loss: the receive buffer is forced to ``rcvbuf`` bytes (``SO_RCVBUFFORCE``, 32 MiB by default).
When the kernel still has to drop notifications it reports ``ENOBUFS`` on the next ``recv``:
each one is counted per node, :attr:`FibWatcher.overflow` turns true, a ``fib``/``enobufs``
event marks the moment and a :class:`FibOverflowWarning` is raised with ``warnings.warn``.  A
run with ``overflow`` set has lost FIB events and its FIB timings must not be trusted.

Events (``source="fib"``; ``t_ns`` on CLOCK_MONOTONIC):

=====================  ========================================================================
``route-add``          RTM_NEWROUTE without NLM_F_REPLACE (a new route)
``route-replace``      RTM_NEWROUTE with NLM_F_REPLACE (zebra's way to change a route; the
                       kernel also sends it for every route of a replaced nexthop object while
                       ``net.ipv4.nexthop_compat_mode`` is 1)
``route-del``          RTM_DELROUTE
``nexthop-add``        RTM_NEWNEXTHOP (``nexthop-replace`` with NLM_F_REPLACE: the kernel
                       echoes the request's flags for nexthops, and zebra sets REPLACE on
                       every install, so a nexthop zebra creates shows as ``nexthop-replace``)
``nexthop-del``        RTM_DELNEXTHOP
``link-up``            an interface became admin up with carrier (IFF_UP and IFF_LOWER_UP)
``link-down``          an interface lost either; the kernel then flushes the nexthops and
                       routes on it *without* sending any route or nexthop notification
``link-del``           an interface vanished
``enobufs``            the kernel dropped notifications for this node (see above)
=====================  ========================================================================

Route detail: ``prefix``, ``table``, ``proto`` (name), ``type``, ``metric``, ``nhid``,
``nexthops`` (list of ``{gateway, oif, ifname, weight}``), ``flags``.  Nexthop detail: ``id``,
``group`` (list of ``{id, weight}``), ``oif``/``ifname``/``gateway``, ``blackhole``, ``proto``.

:func:`fib_timeline` folds the events (and the snapshot taken at start) into the sequence of
next-hop sets one prefix had in one node, including the silent flushes of a carrier loss.
"""
from __future__ import annotations

import errno
import ipaddress
import logging
import os
import select
import socket
import struct
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from testbed.model.events import Event, now_ns
from testbed.system import kernel

log = logging.getLogger(__name__)

# --- netlink constants (linux/netlink.h, linux/rtnetlink.h, linux/nexthop.h) -------------
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
SO_RCVBUFFORCE = 33
RTMGRP_LINK = 0x1
RTMGRP_IPV4_ROUTE = 0x40
RTNLGRP_LINK = 1
RTNLGRP_IPV4_ROUTE = 7
RTNLGRP_NEXTHOP = 32  # joined with NETLINK_ADD_MEMBERSHIP, which works for any group number

NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 2, 3, 4
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEXTHOP, RTM_DELNEXTHOP, RTM_GETNEXTHOP = 104, 105, 106
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP = 0x1, 0x2, 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND = 0x100, 0x200, 0x400, 0x800

IFF_UP, IFF_RUNNING, IFF_LOWER_UP = 0x1, 0x40, 0x10000
IFLA_IFNAME, IFLA_OPERSTATE = 3, 16
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_MULTIPATH, RTA_TABLE, RTA_NH_ID = 1, 4, 5, 6, 9, 15, 30
NHA_ID, NHA_GROUP, NHA_GROUP_TYPE, NHA_BLACKHOLE, NHA_OIF, NHA_GATEWAY = 1, 2, 3, 4, 5, 6
MAIN_TABLE = 254

NLMSGHDR = struct.Struct("=IHHII")
RTATTR = struct.Struct("=HH")
IFINFOMSG = struct.Struct("=BxHiII")
RTMSG = struct.Struct("=BBBBBBBBI")
NHMSG = struct.Struct("=BBBBI")
RTNEXTHOP = struct.Struct("=HBBi")
NEXTHOP_GRP = struct.Struct("=IBBH")
U32 = struct.Struct("=I")

PROTO = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 9: "ra", 11: "zebra",
         16: "dhcp", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip", 192: "eigrp",
         194: "sharp", 195: "pbr", 196: "frr-static", 197: "openfabric", 198: "srte"}
RTN_TYPE = {0: "unspec", 1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
            6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}
OPERSTATE = {0: "unknown", 1: "notpresent", 2: "down", 3: "lowerlayerdown", 4: "testing",
             5: "dormant", 6: "up"}


class FibOverflowWarning(RuntimeWarning):
    """The kernel dropped route/nexthop notifications (ENOBUFS): FIB events were lost."""


# --- decoding (pure functions) -------------------------------------------------------------
def _attrs(data: bytes | memoryview, off: int, end: int) -> dict[int, memoryview]:
    out: dict[int, memoryview] = {}
    mv = memoryview(data)
    while off + 4 <= end:
        ln, typ = RTATTR.unpack_from(mv, off)
        if ln < 4:
            break
        out[typ & 0x3FFF] = mv[off + 4: off + ln]
        off += (ln + 3) & ~3
    return out


def _addr(family: int, raw: memoryview | None) -> str | None:
    if raw is None:
        return None
    if family == socket.AF_INET and len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, bytes(raw))
    if family == socket.AF_INET6 and len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, bytes(raw))
    return bytes(raw).hex()


def _u32(raw: memoryview | None) -> int | None:
    return U32.unpack_from(raw)[0] if raw is not None and len(raw) >= 4 else None


def nl_flag_names(flags: int) -> list[str]:
    return [n for bit, n in ((NLM_F_REPLACE, "replace"), (NLM_F_EXCL, "excl"),
                             (NLM_F_CREATE, "create"), (NLM_F_APPEND, "append")) if flags & bit]


def decode_route(mtype: int, flags: int, body: memoryview) -> dict[str, Any]:
    family, dst_len, _src_len, _tos, table, proto, scope, rtype, _rflags = RTMSG.unpack_from(body)
    a = _attrs(body, RTMSG.size, len(body))
    if RTA_TABLE in a:
        table = _u32(a[RTA_TABLE])
    dst = _addr(family, a.get(RTA_DST)) or ("::" if family == socket.AF_INET6 else "0.0.0.0")
    hops: list[dict[str, Any]] = []
    if RTA_MULTIPATH in a:
        mp = a[RTA_MULTIPATH]
        off = 0
        while off + RTNEXTHOP.size <= len(mp):
            ln, _nhf, hops_w, ifx = RTNEXTHOP.unpack_from(mp, off)
            if ln < RTNEXTHOP.size:
                break
            sub = _attrs(mp, off + RTNEXTHOP.size, off + ln)
            hops.append({"gateway": _addr(family, sub.get(RTA_GATEWAY)), "oif": ifx,
                         "weight": hops_w + 1})
            off += (ln + 3) & ~3
    elif RTA_OIF in a or RTA_GATEWAY in a:
        hops.append({"gateway": _addr(family, a.get(RTA_GATEWAY)), "oif": _u32(a.get(RTA_OIF)),
                     "weight": 1})
    return {
        "prefix": f"{dst}/{dst_len}",
        "family": family,
        "table": table,
        "proto": PROTO.get(proto, str(proto)),
        "type": RTN_TYPE.get(rtype, str(rtype)),
        "scope": scope,
        "metric": _u32(a.get(RTA_PRIORITY)),
        "nhid": _u32(a.get(RTA_NH_ID)),
        "nexthops": hops,
        "flags": nl_flag_names(flags),
    }


def decode_nexthop(mtype: int, flags: int, body: memoryview) -> dict[str, Any]:
    family, _scope, proto, _resvd, _nhflags = NHMSG.unpack_from(body)
    a = _attrs(body, NHMSG.size, len(body))
    group = []
    if NHA_GROUP in a:
        g = a[NHA_GROUP]
        for off in range(0, len(g) - NEXTHOP_GRP.size + 1, NEXTHOP_GRP.size):
            gid, w, _r1, _r2 = NEXTHOP_GRP.unpack_from(g, off)
            group.append({"id": gid, "weight": w + 1})
    return {
        "id": _u32(a.get(NHA_ID)),
        "family": family,
        "proto": PROTO.get(proto, str(proto)),
        "group": group,
        "oif": _u32(a.get(NHA_OIF)),
        "gateway": _addr(family, a.get(NHA_GATEWAY)),
        "blackhole": NHA_BLACKHOLE in a,
        "flags": nl_flag_names(flags),
    }


def decode_link(mtype: int, flags: int, body: memoryview) -> dict[str, Any]:
    _family, _type, index, iflags, _change = IFINFOMSG.unpack_from(body)
    a = _attrs(body, IFINFOMSG.size, len(body))
    name = bytes(a[IFLA_IFNAME]).split(b"\0", 1)[0].decode() if IFLA_IFNAME in a else None
    oper = a.get(IFLA_OPERSTATE)
    return {"index": index, "ifname": name, "admin_up": bool(iflags & IFF_UP),
            "carrier": bool(iflags & IFF_LOWER_UP),
            "operstate": OPERSTATE.get(oper[0], str(oper[0])) if oper is not None and len(oper) else None,
            "deleted": mtype == RTM_DELLINK}


def iter_messages(data: bytes | memoryview):
    """(type, flags, body) of each netlink message in one datagram."""
    mv = memoryview(data)
    off = 0
    while off + NLMSGHDR.size <= len(mv):
        ln, mtype, flags, _seq, _pid = NLMSGHDR.unpack_from(mv, off)
        if ln < NLMSGHDR.size or off + ln > len(mv):
            break
        yield mtype, flags, mv[off + NLMSGHDR.size: off + ln]
        off += (ln + 3) & ~3


class _Decoder:
    """Turns raw datagrams of one node into events, keeping the ifindex->name map and the
    link states needed to report only real up/down transitions."""

    def __init__(self, node: str):
        self.node = node
        self.ifnames: dict[int, str] = {}
        self.link_state: dict[int, bool] = {}

    def _names(self, d: dict[str, Any]) -> dict[str, Any]:
        for h in d.get("nexthops", ()):
            h["ifname"] = self.ifnames.get(h["oif"])
        if "oif" in d:
            d["ifname"] = self.ifnames.get(d["oif"]) if d["oif"] is not None else None
        return d

    def decode(self, t_ns: int, data: bytes, snapshot: bool = False) -> list[Event]:
        out: list[Event] = []
        for mtype, flags, body in iter_messages(data):
            try:
                ev = self._one(t_ns, mtype, flags, body, snapshot)
            except struct.error:  # a truncated message: keep going, never crash the run
                ev = Event(t_ns, "fib", self.node, "undecodable", {"type": mtype})
            if ev is not None:
                out.append(ev)
        return out

    def _one(self, t: int, mtype: int, flags: int, body: memoryview, snapshot: bool) -> Event | None:
        if mtype in (RTM_NEWROUTE, RTM_DELROUTE):
            d = self._names(decode_route(mtype, flags, body))
            return Event(t, "fib", self.node, _kind("route", mtype == RTM_DELROUTE, flags, snapshot), d)
        if mtype in (RTM_NEWNEXTHOP, RTM_DELNEXTHOP):
            d = self._names(decode_nexthop(mtype, flags, body))
            return Event(t, "fib", self.node, _kind("nexthop", mtype == RTM_DELNEXTHOP, flags, snapshot), d)
        if mtype in (RTM_NEWLINK, RTM_DELLINK):
            d = decode_link(mtype, flags, body)
            idx = d["index"]
            if d["ifname"]:
                self.ifnames[idx] = d["ifname"]
            else:
                d["ifname"] = self.ifnames.get(idx)
            if snapshot:
                self.link_state[idx] = d["admin_up"] and d["carrier"]
                return Event(t, "fib", self.node, "link-present", d)
            if d["deleted"]:
                self.link_state.pop(idx, None)
                return Event(t, "fib", self.node, "link-del", d)
            up = d["admin_up"] and d["carrier"]
            before = self.link_state.get(idx)
            self.link_state[idx] = up
            if before == up:
                return None  # statistics or address-flag noise, no change of state
            return Event(t, "fib", self.node, "link-up" if up else "link-down", d)
        return None


# --- sockets -------------------------------------------------------------------------------
def open_socket(pid: int | None, rcvbuf: int, groups: int = RTMGRP_IPV4_ROUTE | RTMGRP_LINK,
                nexthops: bool = True) -> tuple[socket.socket, int]:
    """A subscribed rtnetlink socket inside ``pid``'s netns (the caller's when None);
    returns it and the receive buffer the kernel granted (bytes)."""
    def make() -> socket.socket:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            try:
                s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
            except PermissionError:  # not CAP_NET_ADMIN: the sysctl caps SO_RCVBUF
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.bind((0, groups))
            if nexthops:
                s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, RTNLGRP_NEXTHOP)
        except BaseException:
            s.close()
            raise
        return s

    if pid is None:
        s = make()
    else:
        with kernel.in_netns(pid):
            s = make()
    return s, s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def dump(pid: int | None, timeout_s: float = 5.0) -> list[bytes]:
    """Datagrams of a dump of links, nexthops and IPv4 routes inside ``pid``'s netns."""
    def make() -> socket.socket:
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)

    if pid is None:
        s = make()
    else:
        with kernel.in_netns(pid):
            s = make()
    out: list[bytes] = []
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((0, 0))
        s.settimeout(timeout_s)
        requests = [(RTM_GETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)),
                    (RTM_GETNEXTHOP, NHMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)),
                    (RTM_GETROUTE, RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0))]
        for seq, (mtype, body) in enumerate(requests, start=1):
            s.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), mtype, NLM_F_REQUEST | NLM_F_DUMP,
                                 seq, 0) + body)
            done = False
            while not done:
                data = s.recv(1 << 20)
                keep = bytearray()
                for t, _fl, b in iter_messages(data):
                    if t in (NLMSG_DONE, NLMSG_ERROR):
                        done = True  # an error (e.g. no nexthop support) ends this dump only
                        break
                    keep += NLMSGHDR.pack(NLMSGHDR.size + len(b), t, 0, 0, 0) + bytes(b)
                    keep += b"\0" * (-len(keep) % 4)
                if keep:
                    out.append(bytes(keep))
    finally:
        s.close()
    return out


def _pid_of(net: Any, node: str) -> int:
    if isinstance(net, Mapping):
        return int(net[node])
    return int(net.pid(node))


# --- the watcher ---------------------------------------------------------------------------
@dataclass
class NodeStats:
    node: str
    rcvbuf_bytes: int = 0
    datagrams: int = 0
    bytes: int = 0
    enobufs: int = 0
    truncated: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FibResult:
    events: list[Event]
    snapshot: list[Event]
    stats: dict[str, NodeStats] = field(default_factory=dict)

    @property
    def overflow(self) -> bool:
        return any(s.enobufs or s.truncated for s in self.stats.values())

    def to_dict(self) -> dict[str, Any]:
        return {"overflow": self.overflow, "stats": {n: s.to_dict() for n, s in self.stats.items()},
                "events": len(self.events)}


def _kind(noun: str, deleted: bool, flags: int, snapshot: bool) -> str:
    """``route-add``, ``-replace``, ``-del``, or ``-present`` when read from the initial dump."""
    if snapshot:
        return f"{noun}-present"
    if deleted:
        return f"{noun}-del"
    return f"{noun}-replace" if flags & NLM_F_REPLACE else f"{noun}-add"


class FibWatcher:
    """Watch the kernel FIB of ``nodes``; ``start()``, then ``stop()`` returns the events.

    ``net`` is a :class:`testbed.runtime.net.Network` (anything with ``pid(node)``) or a mapping
    ``{node: pid}``.  ``snapshot=True`` dumps links, nexthops and IPv4 routes of each node at
    start (``result.snapshot``: ``*-present`` events) so :func:`fib_timeline` knows the state
    before the first change.  While running, the interpreter's thread switch interval is
    lowered to ``switch_interval_s`` so that a busy main thread delays a stamp by at most
    that much (restored by ``stop()``).
    """

    def __init__(self, net: Any, nodes: Iterable[str], rcvbuf: int = 32 << 20,
                 snapshot: bool = True, switch_interval_s: float | None = 0.0005) -> None:
        self.net = net
        self.nodes = list(nodes)
        self.rcvbuf = rcvbuf
        self.want_snapshot = snapshot
        self.switch_interval_s = switch_interval_s
        self.stats = {n: NodeStats(n) for n in self.nodes}
        self.raw: list[tuple[int, int, bytes]] = []  # (t_ns, node index, datagram)
        self.snapshot_raw: list[tuple[int, int, bytes]] = []
        self.result: FibResult | None = None
        self._socks: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._wake_r = self._wake_w = -1
        self._old_switch: float | None = None
        self._error: BaseException | None = None

    # --- lifecycle ---
    def __enter__(self) -> "FibWatcher":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self.stop()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("FibWatcher already started")
        try:
            pids = [_pid_of(self.net, n) for n in self.nodes]
            for n, pid in zip(self.nodes, pids):
                s, granted = open_socket(pid, self.rcvbuf)
                self._socks.append(s)
                self.stats[n].rcvbuf_bytes = granted
                if granted < self.rcvbuf:
                    log.warning("fibwatch %s: receive buffer %d bytes, asked %d", n, granted, self.rcvbuf)
            self._wake_r, self._wake_w = os.pipe()
            if self.switch_interval_s:
                self._old_switch = sys.getswitchinterval()
                sys.setswitchinterval(min(self._old_switch, self.switch_interval_s))
            self._thread = threading.Thread(target=self._loop, name="fibwatch", daemon=True)
            self._thread.start()
            if self.want_snapshot:  # after subscribing: nothing falls between dump and watch
                for i, pid in enumerate(pids):
                    t = now_ns()
                    self.snapshot_raw += [(t, i, d) for d in dump(pid)]
        except BaseException:
            self._teardown()
            raise

    def stop(self) -> list[Event]:
        """Stop watching; returns the change events of every node in time order."""
        self._teardown()
        if self._error is not None:
            raise RuntimeError(f"fibwatch receive loop failed: {self._error!r}") from self._error
        decoders = [_Decoder(n) for n in self.nodes]
        snap: list[Event] = []
        for t, i, data in self.snapshot_raw:
            snap += decoders[i].decode(t, data, snapshot=True)
        events: list[Event] = []
        for t, i, data in self.raw:
            if data is None:
                events.append(Event(t, "fib", self.nodes[i], "enobufs",
                                    {"note": "kernel dropped netlink notifications: FIB events lost"}))
                continue
            events += decoders[i].decode(t, data)
        events.sort(key=lambda e: e.t_ns)
        self.result = FibResult(events, snap, self.stats)
        if self.result.overflow:
            msg = ("FIB watcher LOST notifications: " + ", ".join(
                f"{s.node}: {s.enobufs} ENOBUFS, {s.truncated} truncated"
                for s in self.stats.values() if s.enobufs or s.truncated)
                + " -- FIB timings of this run are incomplete")
            log.error(msg)
            warnings.warn(msg, FibOverflowWarning, stacklevel=2)
        return events

    @property
    def overflow(self) -> bool:
        return any(s.enobufs or s.truncated for s in self.stats.values())

    @property
    def snapshot(self) -> list[Event]:
        return self.result.snapshot if self.result else []

    def timeline(self, node: str, prefix: str, table: int = MAIN_TABLE) -> list[tuple[int, list[dict] | None]]:
        if self.result is None:
            raise RuntimeError("call stop() first")
        return fib_timeline(self.result.snapshot + self.result.events, node, prefix, table)

    # --- internals ---
    def _teardown(self) -> None:
        if self._thread is not None:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
            self._thread.join(timeout=10)
            self._thread = None
        for s in self._socks:
            s.close()
        self._socks = []
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        if self._old_switch is not None:
            sys.setswitchinterval(self._old_switch)
            self._old_switch = None

    def _loop(self) -> None:
        clock = now_ns
        raw = self.raw
        append = raw.append
        buf = bytearray(1 << 18)
        view = memoryview(buf)
        cap = len(buf)
        dontwait = socket.MSG_DONTWAIT | socket.MSG_TRUNC
        ep = select.epoll()
        try:
            fd_of = {}
            for i, s in enumerate(self._socks):
                ep.register(s.fileno(), select.EPOLLIN)
                fd_of[s.fileno()] = (i, s, self.stats[self.nodes[i]])
            ep.register(self._wake_r, select.EPOLLIN)
            stopping = False
            while True:
                ready = ep.poll(-1 if not stopping else 0)
                if not ready:
                    return  # stopping and every socket drained
                for fd, _ev in ready:
                    if fd == self._wake_r:
                        stopping = True  # drain what is queued, then leave
                        ep.unregister(fd)
                        continue
                    i, s, st = fd_of[fd]
                    while True:
                        try:
                            n = s.recv_into(buf, cap, dontwait)
                        except BlockingIOError:
                            break
                        except InterruptedError:
                            continue
                        except OSError as e:
                            if e.errno == errno.ENOBUFS:
                                st.enobufs += 1
                                append((clock(), i, None))
                                continue
                            raise
                        t = clock()
                        if n > cap:
                            st.truncated += 1
                            n = cap
                        st.datagrams += 1
                        st.bytes += n
                        append((t, i, bytes(view[:n])))
        except BaseException as e:  # reported by stop()
            self._error = e
        finally:
            ep.close()


# --- analysis ------------------------------------------------------------------------------
def _hopset(hops: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({"gateway": h.get("gateway"), "oif": h.get("oif"), "ifname": h.get("ifname")}
                   for h in hops), key=lambda h: (str(h["gateway"]), h["oif"] or 0))


def fib_timeline(events: Iterable[Event], node: str, prefix: str,
                 table: int = MAIN_TABLE) -> list[tuple[int, list[dict] | None]]:
    """The next-hop sets ``prefix`` had in ``node``: ``[(t_ns, hops or None), ...]``, one entry
    per change (None: no route).  Routes are resolved through their nexthop object when the
    message carries only an ``nhid``; a ``link-down`` removes the hops on that interface, as
    the kernel's silent flush does.  Pass the snapshot first (``result.snapshot + events``).
    """
    want = str(ipaddress.ip_network(prefix, strict=False))
    nh: dict[int, dict[str, Any]] = {}
    cur: list[dict] | None = None
    cur_nhid: int | None = None
    out: list[tuple[int, list[dict] | None]] = []

    def resolve(nhid: int, depth: int = 0) -> list[dict] | None:
        o = nh.get(nhid)
        if o is None or depth > 4:
            return None
        if o["group"]:
            hops = []
            for g in o["group"]:
                hops += resolve(g["id"], depth + 1) or []
            return hops
        if o["blackhole"]:
            return []
        return [{"gateway": o["gateway"], "oif": o["oif"], "ifname": o.get("ifname")}]

    def emit(t: int, hops: list[dict] | None) -> None:
        nonlocal cur
        cur = _hopset(hops) if hops is not None else None
        if not out or out[-1][1] != cur:
            out.append((t, cur))

    def uses(nhid: int | None, member: int) -> bool:
        if nhid is None:
            return False
        return nhid == member or any(g["id"] == member for g in nh.get(nhid, {}).get("group", ()))

    for e in sorted(events, key=lambda e: e.t_ns):
        if e.node != node or e.source != "fib":
            continue
        d = e.detail
        k = e.kind
        if k.startswith("nexthop-"):
            nid = d["id"]
            affected = cur is not None and uses(cur_nhid, nid)
            if k == "nexthop-del":
                nh.pop(nid, None)
                if affected and nid == cur_nhid:  # the kernel drops its routes silently
                    cur_nhid = None
                    emit(e.t_ns, None)
            else:
                nh[nid] = d
                if affected and k != "nexthop-present":
                    emit(e.t_ns, resolve(cur_nhid) or None)
        elif k.startswith("route-"):
            if d.get("table") != table or d.get("prefix") != want:
                continue
            if k == "route-del":
                cur_nhid = None
                emit(e.t_ns, None)
            else:
                cur_nhid = d.get("nhid")
                hops = d.get("nexthops") or (resolve(cur_nhid) if cur_nhid else None) or []
                if d.get("type") not in ("unicast", None):
                    hops = []
                emit(e.t_ns, hops)
        elif k == "link-down" and cur:
            left = [h for h in cur if h["oif"] != d["index"]]
            if len(left) != len(cur):
                emit(e.t_ns, left or None)
                if not left:
                    cur_nhid = None
    return out


def summarize(events: Iterable[Event]) -> dict[str, dict[str, int]]:
    """Counts of each kind per node."""
    out: dict[str, dict[str, int]] = {}
    for e in events:
        c = out.setdefault(e.node, {})
        c[e.kind] = c.get(e.kind, 0) + 1
    return out
