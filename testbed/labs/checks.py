"""Checks the training labs share, phrased for a trainee; each returns what is still wrong.

They build on :mod:`testbed.observe.checks` (FIB, paths, BGP tables) and add what a lab asks about that
a policy test does not: one session's state with the reason it last went down, a BFD session's
timers, traffic spread over ECMP links, and how long a silent failure takes to move traffic.
"""
from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from testbed.faults import Blackhole
from testbed.observe import peers
from testbed.observe.checks import CheckFailed, Problems, eventually, fib_nexthops
from testbed.system import kernel

if TYPE_CHECKING:
    from testbed.runtime.net import Network


def neighbor(net: "Network", router: str, label: str) -> dict:
    """FRR's view of ``router``'s neighbor on session ``label`` ({} when it is not configured)."""
    return peers.bgp_neighbor(net, router, net.topo.neighbor(router, label).addr)


def session_up(net: "Network", router: str, label: str, min_up_s: float = 0) -> Problems:
    """``router``'s BGP session ``label`` is Established (for at least ``min_up_s``); otherwise its
    state and why it last went down, as FRR tells it (a wrong AS shows as "Bad Peer AS")."""
    n = net.topo.neighbor(router, label)
    info = neighbor(net, router, label)
    if not info:
        return [f"{router} has no BGP neighbor for {n.peer} ({label}) yet"]
    state = info.get("bgpState", "unknown")
    if state != "Established":
        why = info.get("lastNotificationReason") or info.get("lastResetDueTo")
        # after failed attempts BGP backs off (up to a minute or more): a fix shows only later
        retry = f" ('clear bgp {n.addr}' on {router} retries at once)" if state == "Idle" else ""
        return [f"{router}: BGP to {n.peer} ({n.addr}) is {state}" + (f"; last reset: {why}" if why else "") + retry]
    up_s = info.get("bgpTimerUpMsec", 0) / 1000
    if up_s < min_up_s:
        return [f"{router}: BGP to {n.peer} has been up for {up_s:.0f} s only; it must stay up {min_up_s:.0f} s"]
    return []


def bfd_up(net: "Network", router: str, label: str, interval_ms: int, multiplier: int) -> Problems:
    """``router`` runs BFD on session ``label`` at ``interval_ms`` x ``multiplier``, it is up, and
    BGP follows it (the neighbor is registered with BFD)."""
    n = net.topo.neighbor(router, label)
    peer = peers.bfd(net, router).get(n.addr)
    if peer is None:
        return [f"{router} has no BFD session to {n.peer} ({n.addr})"]
    wrong = []
    if peer.get("status") != "up":
        wrong.append(f"{router}: BFD to {n.peer} is {peer.get('status')}")
    timers = (peer.get("transmit-interval"), peer.get("receive-interval"), peer.get("detect-multiplier"))
    if timers != (interval_ms, interval_ms, multiplier):
        wrong.append(f"{router}: BFD to {n.peer} runs {timers[0]}/{timers[1]} ms x {timers[2]}, "
                     f"not {interval_ms} ms x {multiplier}")
    if "peerBfdInfo" not in neighbor(net, router, label):
        wrong.append(f"{router}: BGP to {n.peer} does not follow BFD (a BFD peer alone does not bring BGP down)")
    return wrong


_SEND_UDP = """
import socket, sys
dst, first, flows, packets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for port in range(first, first + flows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", port))
    for _ in range(packets):
        s.sendto(b"lab", (dst, 9))
    s.close()
"""


def _tx_packets(net: "Network", node: str) -> dict[str, int]:
    with kernel.netlink(net.pid(node)) as ipr:
        return {name: c["tx_packets"] for name, c in kernel.link_counters(ipr).items()}


def flows_spread(net: "Network", src: str, dst_addr: str, node: str, labels: list[str],
                 flows: int = 32, packets: int = 3) -> Problems:
    """UDP flows (one source port each) from ``src`` to ``dst_addr`` leave ``node`` over every
    one of the links ``labels``: the per-flow load sharing of ECMP, seen in the interface counters."""
    ifnames = {net.topo.link_by_label(label).end(node).name: label for label in labels}
    before = _tx_packets(net, node)
    res = net.run_in(src, [sys.executable, "-c", _SEND_UDP, dst_addr, "40000", str(flows), str(packets)],
                     capture_output=True, text=True)
    if res.returncode != 0:
        return [f"sending test flows from {src} failed: {res.stderr.strip()[-200:]}"]
    after = _tx_packets(net, node)
    seen = {label: after.get(i, 0) - before.get(i, 0) for i, label in ifnames.items()}
    total = flows * packets
    counts = ", ".join(f"{n} over {label}" for label, n in seen.items())
    # a BGP keepalive or two may cross a link meanwhile: a link carries flows when it carries a tenth
    if any(n < total // 10 for n in seen.values()):
        return [f"{flows} UDP flows ({total} packets) from {src} to {dst_addr}: {counts}"]
    return []


def silent_failure(net: "Network", link: str, watch: list[tuple[str, str, str]], within_s: float,
                   recover_s: float = 30.0) -> tuple[dict[str, float | None], Problems]:
    """Blackhole ``link`` (carrier stays up), time until each watched (node, prefix, next-hop
    label) is no longer used, then lift it and wait until every watched next hop is back.

    Returns the seconds per node (None: it had not moved within ``within_s``) and the problems
    that prevented a fair measurement (a path missing before, or not back after)."""
    missing = [f"{node} does not forward {prefix} over {hop} before the test"
               for node, prefix, hop in watch if hop not in fib_nexthops(net, node, prefix)]
    if missing:
        return {}, missing
    fault = Blackhole(link)
    times: dict[str, float | None] = {}
    pending = list(watch)
    t0 = time.monotonic()
    fault.inject(net)
    try:
        while pending and time.monotonic() - t0 < within_s:
            for node, prefix, hop in list(pending):
                if hop not in fib_nexthops(net, node, prefix):
                    times[node] = time.monotonic() - t0
                    pending.remove((node, prefix, hop))
            time.sleep(0.01)
        times.update({node: None for node, _, _ in pending})
    finally:
        fault.restore(net)
    try:
        eventually(lambda: [f"{node} does not use {hop} again" for node, prefix, hop in watch
                            if hop not in fib_nexthops(net, node, prefix)], within=recover_s, interval=0.2)
    except CheckFailed as e:
        return times, [str(e)]
    return times, []
