"""FibWatcher: unit tests of the netlink decoding and the timeline, and a live test (root) that
watches 10,000 route additions and deletions made with ``ip -batch`` inside a node."""
from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from testbed.measure import fibwatch as fw
from testbed.model.events import Event

ROOT = os.geteuid() == 0


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


# --- live ---------------------------------------------------------------------------------
N_ROUTES = 10_000


@pytest.fixture
def fw_pair():
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.node import Node
    setLogLevel("error")
    net = Mininet(topo=None, controller=None, build=False)
    try:
        a = net.addHost("fwa", cls=Node, ip=None)
        b = net.addHost("fwb", cls=Node, ip=None)
        net.addLink(a, b)
        a.cmd("ip link set lo up; ip addr add 10.198.0.1/30 dev fwa-eth0; ip link set fwa-eth0 up")
        b.cmd("ip link set lo up; ip addr add 10.198.0.2/30 dev fwb-eth0; ip link set fwb-eth0 up")
        yield net, a, b
    finally:
        net.stop()


@pytest.mark.integration
@pytest.mark.skipif(not ROOT, reason="needs root (network namespaces)")
def test_watch_10000_routes(fw_pair, tmp_path):
    net, a, b = fw_pair
    add, dele = tmp_path / "add.batch", tmp_path / "del.batch"
    prefixes = [f"172.16.{i >> 8}.{i & 255}/32" for i in range(N_ROUTES)]
    add.write_text("".join(f"route add {p} via 10.198.0.2\n" for p in prefixes))
    dele.write_text("".join(f"route del {p} via 10.198.0.2\n" for p in prefixes))
    w = fw.FibWatcher({"fwa": a.pid, "fwb": b.pid}, ["fwa", "fwb"])
    w.start()
    try:
        t0 = time.monotonic_ns()
        assert a.cmd(f"ip -batch {add}").strip() == ""
        t1 = time.monotonic_ns()
        assert a.cmd(f"ip -batch {dele}").strip() == ""
        t2 = time.monotonic_ns()
        # nexthop objects, as zebra uses them, and a group
        a.cmd("ip nexthop add id 100 via 10.198.0.2 dev fwa-eth0; ip nexthop add id 101 dev fwa-eth0; "
              "ip nexthop add id 102 group 100/101; ip route add 10.50.0.0/16 nhid 102 proto bgp; "
              "ip nexthop replace id 102 group 100; ip nexthop del id 102")
        time.sleep(0.05)
    finally:
        events = w.stop()
    res = w.result
    print(f"10,000 adds in {(t1 - t0) / 1e6:.1f} ms, dels in {(t2 - t1) / 1e6:.1f} ms;", res.to_dict())
    assert not res.overflow and not w.overflow
    assert res.stats["fwa"].rcvbuf_bytes >= 32 << 20
    ours = set(prefixes)
    adds = [e for e in events if e.kind == "route-add" and e.detail["prefix"] in ours]
    dels = [e for e in events if e.kind == "route-del" and e.detail["prefix"] in ours]
    assert len(adds) == N_ROUTES and len({e.detail["prefix"] for e in adds}) == N_ROUTES
    assert len(dels) == N_ROUTES and len({e.detail["prefix"] for e in dels}) == N_ROUTES
    assert all(t0 <= e.t_ns for e in adds) and all(e.t_ns <= t2 + 50_000_000 for e in dels)
    assert adds[0].detail["nexthops"] == [{"gateway": "10.198.0.2", "oif": 2, "weight": 1, "ifname": "fwa-eth0"}]
    kinds = [(e.kind, e.detail.get("id")) for e in events if e.kind.startswith("nexthop-")]
    assert kinds == [("nexthop-add", 100), ("nexthop-add", 101), ("nexthop-add", 102),
                     ("nexthop-replace", 102), ("nexthop-del", 102)]
    r = [e for e in events if e.detail.get("prefix") == "10.50.0.0/16"]
    assert r[0].kind == "route-add" and r[0].detail["nhid"] == 102 and r[0].detail["proto"] == "bgp"
    assert len(r[0].detail["nexthops"]) == 2  # compat mode: the hops come with the nhid
    tl = w.timeline("fwa", "10.50.0.0/16")
    assert [len(h) if h is not None else None for _, h in tl] == [2, 1, None]
    # the snapshot saw the connected route taken before the start
    assert any(e.kind == "route-present" and e.detail["prefix"] == "10.198.0.0/30" for e in w.snapshot)


@pytest.mark.integration
@pytest.mark.skipif(not ROOT, reason="needs root (network namespaces)")
def test_enobufs_is_reported(fw_pair, tmp_path):
    """A receive buffer far too small for a burst: the loss is counted, flagged and warned."""
    net, a, b = fw_pair
    batch = tmp_path / "add.batch"
    batch.write_text("".join(f"route add 172.17.{i >> 8}.{i & 255}/32 dev fwa-eth0\n" for i in range(5000)))
    # the kernel's minimum buffer (a few notifications) and the default 5 ms GIL switch interval
    w = fw.FibWatcher({"fwa": a.pid}, ["fwa"], rcvbuf=0, snapshot=False, switch_interval_s=None)
    w.start()
    try:
        p = a.popen(["ip", "-batch", str(batch)])
        while p.poll() is None:  # keep this thread busy: the receive loop runs in slices
            sum(range(10000))
        assert p.returncode == 0
    finally:
        with pytest.warns(fw.FibOverflowWarning):
            events = w.stop()
    assert w.overflow and w.stats["fwa"].enobufs >= 1
    assert any(e.kind == "enobufs" for e in events)
