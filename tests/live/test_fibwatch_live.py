"""FibWatcher: unit tests of the netlink decoding and the timeline, and a live test (root) that
watches 10,000 route additions and deletions made with ``ip -batch`` inside a node."""
from __future__ import annotations

import os
import time

import pytest

from testbed.measure import fibwatch as fw

ROOT = os.geteuid() == 0


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
