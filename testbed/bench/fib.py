"""FIB convergence at scale: on-prem advertises N extra prefixes, ER primary loses carrier, and
the Azure side moves every one of them off the failed link. Set against the kernel's own time
to install N routes.

Why these choices:

- the prefixes are originated on ``core``, so both CEs carry them and every Azure router holds
  a second path: losing er-primary *moves* each prefix rather than removing it;
- carrier loss, not a blackhole: no detection timer (fast-external-failover drops msee1's
  session at once), so the figure is BGP and FIB work, which is what grows with N (a
  blackhole only adds BFD's fixed 0.6-0.9 s, see ``er-primary-blackhole``);
- every Azure router is watched with :class:`testbed.measure.fibwatch.FibWatcher` (each route message
  stamped on receipt) and the last move anywhere counts: where the prefixes move depends on the
  topology's parameters (with the MSEE interconnect msee1 re-routes them through msee2 and each
  ergw instance keeps both next hops; without it each instance drops msee1 from each). The kernel flushes the routes
  on the dead link silently, so the first stamp is a *new* route, never the flush;
- Premium is on and the MSEE's Premium limit raised above N + the on-prem range, so the MSEE
  keeps the session (10,000 prefixes plus 10.20.0.0/16 would exceed Azure's 10,000);
- the kernel baseline is ``ip -batch`` adding the same N routes (via a gateway, like zebra's)
  into a throwaway namespace (``unshare --net``), in the same run, before each failover.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from testbed.bench.memory import node_memory
from testbed.bench.series import Series, summaries
from testbed.errors import TestbedError
from testbed.faults import LinkDown, PrefixFlood
from testbed.measure.fibwatch import FibWatcher
from testbed.model import catalog
from testbed.observe import converge
from testbed.runtime.net import Network

ORIGIN, FAILED_LINK = "core", "er-primary"
LIMIT_HEADROOM = 100  # the on-prem range and margin on top of N
POLL_S = 0.25         # polling only decides when to stop; the stamps come from netlink
STILL_S = 1.0         # a FIB that did not change for this long has settled
TIMEOUT_S = 120.0
SCRATCH_GW = ("192.0.2.1/24", "192.0.2.2")  # TEST-NET-1, inside the throwaway namespace only
HOP = re.compile(r"via (\S+) dev (\S+)")

FibState = dict[str, dict[str, frozenset[tuple[str, str]]]]   # node -> prefix -> next hops


def kernel_install_s(prefixes: list[str], workdir: Path) -> float:
    """Seconds ``ip -batch`` takes to add ``prefixes`` via one gateway in a fresh namespace."""
    batch = workdir / f"routes-{len(prefixes)}.batch"
    if not batch.exists():
        batch.write_text("".join(f"route add {p} via {SCRATCH_GW[1]} dev v0\n" for p in prefixes))
    script = (f"ip link add v0 type veth peer name v1 && ip link set v1 up && ip link set v0 up && "
              f"ip addr add {SCRATCH_GW[0]} dev v0 && "
              f"s=$(date +%s%N) && ip -batch {batch} && e=$(date +%s%N) && echo $((e - s))")
    res = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise TestbedError(f"ip -batch in a scratch namespace failed ({res.stderr.strip()[:200]}).")
    return int(res.stdout.strip()) / 1e9


def fib_state(net: Network, nodes: list[str], pool: str) -> FibState:
    """The routes inside ``pool`` of each node's FIB, with their (gateway, device) next hops."""
    state: FibState = {}
    for node in nodes:
        lines = net.cmd(node, f"ip -4 -o route show root {pool}").splitlines()
        state[node] = {line.split(maxsplit=1)[0]: frozenset(HOP.findall(line)) for line in lines}
    return state


def wait_still(net: Network, nodes: list[str], pool: str, done: Callable[[FibState], bool],
               what: str) -> tuple[FibState, float]:
    """Poll until ``done`` holds and the FIBs stayed the same for ``STILL_S``; that state, and
    when it was first seen (``time.monotonic``, to one poll)."""
    t0 = time.monotonic()
    last, since = None, t0
    while True:
        state = fib_state(net, nodes, pool)
        if state != last:
            last, since = state, time.monotonic()
        elif done(state) and time.monotonic() - since >= STILL_S:
            return state, since
        if time.monotonic() - t0 > TIMEOUT_S:
            counts = ", ".join(f"{n} {len(r)}" for n, r in state.items())
            raise TestbedError(f"the Azure routers' FIBs did not settle {TIMEOUT_S:.0f} s after {what} "
                               f"(routes of {pool}: {counts}).")
        time.sleep(POLL_S)


def wait_quiet(watcher: FibWatcher, at_least: int) -> None:
    """Wait until the watcher received ``at_least`` messages and then nothing for ``STILL_S``
    (counting raw datagrams is free; decoding waits for ``stop``)."""
    t0 = time.monotonic()
    seen, since = -1, t0
    while True:
        n = len(watcher.raw)
        if n != seen:
            seen, since = n, time.monotonic()
        elif n >= at_least and time.monotonic() - since >= STILL_S:
            return
        if time.monotonic() - t0 > TIMEOUT_S:
            raise TestbedError(f"only {n} FIB changes on the Azure side {TIMEOUT_S:.0f} s after "
                               f"{FAILED_LINK} went down; {at_least} prefixes should have moved.")
        time.sleep(POLL_S)


def failover(net: Network, nodes: list[str], flood: PrefixFlood, baseline: FibState) -> dict[str, Any]:
    """Take er-primary down, stamp every move on the Azure side, bring it back, wait for the baseline."""
    wanted = set(flood.prefixes())
    down = LinkDown(FAILED_LINK)
    with FibWatcher(net, nodes, snapshot=False) as watcher:
        inject = down.inject(net)
        try:
            wait_quiet(watcher, flood.count)
            events = watcher.stop()
        finally:
            down.restore(net)
    restored = time.monotonic()
    _, back = wait_still(net, nodes, flood.pool, lambda s: s == baseline, "the link came back")
    moves = [e for e in events
             if e.kind.startswith("route-") and e.t_ns >= inject.t_ns and e.detail.get("prefix") in wanted]
    stamps = [e.t_ns - inject.t_ns for e in moves]
    moved_at = Counter(node for node, _ in {(e.node, e.detail["prefix"]) for e in moves})
    return {"first_s": min(stamps) / 1e9 if stamps else None, "last_s": max(stamps) / 1e9 if stamps else None,
            "moved": len({e.detail["prefix"] for e in moves}), "moved_at": dict(moved_at),
            "overflow": watcher.overflow, "failback_s": back - restored}


def fib_scale(counts: list[int], reps: int, run: str) -> dict[str, Any]:
    limit = max(counts) + LIMIT_HEADROOM
    overrides = {"er.premium": True, "msee.prefix_limit_premium": limit}
    sizes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fib-") as tmp, \
            Network(catalog.build("expressroute", overrides), run=run) as net:
        converge.wait_converged(net)
        azure = [n for n, r in net.topo.routers.items() if r.role == "azure"]
        for count in counts:
            flood = PrefixFlood(ORIGIN, count)
            t0 = time.monotonic()
            flood.inject(net)
            baseline, advertised = wait_still(net, azure, flood.pool,
                                              lambda s: all(len(routes) == count for routes in s.values()),
                                              f"{ORIGIN} advertised {count} prefixes")
            figures = {k: Series("s") for k in ("kernel_install_s", "first_moved_s", "last_moved_s", "failback_s")}
            ratio, moved, moved_at, overflow = Series("x"), [], {}, False
            for _ in range(reps):
                kernel_s = kernel_install_s(flood.prefixes(), Path(tmp))
                f = failover(net, azure, flood, baseline)
                figures["kernel_install_s"].add(kernel_s)
                figures["first_moved_s"].add(f["first_s"])
                figures["last_moved_s"].add(f["last_s"])
                figures["failback_s"].add(f["failback_s"])
                ratio.add(f["last_s"] / kernel_s if f["last_s"] else None)
                moved.append(f["moved"])
                moved_at = f["moved_at"]
                overflow = overflow or f["overflow"]
            memory = node_memory(net)
            sizes[str(count)] = {
                **summaries(figures), "ratio_to_kernel": ratio.to_dict(), "moved_prefixes": moved,
                "moved_at": moved_at, "netlink_overflow": overflow, "advertise_s": round(advertised - t0, 2),
                "azure_rss_mib": {n: memory[n]["total"] for n in azure}}
            flood.restore(net)
            wait_still(net, azure, flood.pool, lambda s: not any(s.values()), f"{ORIGIN} withdrew them")
    return {"topology": "expressroute", "origin": ORIGIN, "watched": azure,
            "failure": f"{FAILED_LINK}: carrier down", "prefix_limit": limit, "repetitions": reps,
            "sizes": sizes}
