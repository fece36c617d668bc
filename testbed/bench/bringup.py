"""Bring-up benchmark: a topology from nothing to converged, repeated, and where the time went.

Every instant is seconds after ``Network.start`` began (the clock ``wait_converged`` uses):

==============  ===================================================================================
nodes_ready     the first FRR daemon was forked: nodes, links, addresses and configs were done
frr_started     the last FRR daemon was forked (from ``/proc``: 10 ms steps)
tunnels_up      every IPsec tunnel established (VPN topologies only)
bgp             every BGP session Established   } ``converge.wait_converged`` checks these in
fib             every expected route in the FIB } order, each once the one before it held, every
reach           the hosts ping each other       } 0.1 s: a stage is stamped when first seen held
total           converged (forwarding)          }
bfd             every BFD session up (checked after the others: forwarding does not need it)
teardown        ``Network.stop`` took this long (not part of the bring-up)
==============  ===================================================================================
"""
from __future__ import annotations

import time
from typing import Any, Callable

from testbed.bench.series import Series, summaries
from testbed.model import catalog
from testbed.observe import converge
from testbed.runtime.net import Network
from testbed.system.procs import started_monotonic

STAGES = ("nodes_ready", "frr_started", "tunnels_up", "bgp", "fib", "reach", "total", "bfd", "teardown")
OnUp = Callable[[Network, int], None]


def daemon_starts(net: Network) -> tuple[float, float]:
    """When the first and the last FRR daemon of the run started, in seconds after ``net.t0``."""
    starts = [started_monotonic(pid) for r in net.frr.values() for pid in r.pids()]
    return min(starts) - net.t0, max(starts) - net.t0


def bring_up(topology: str, reps: int, run: str, overrides: dict[str, Any] | None = None,
             on_up: OnUp | None = None) -> dict[str, Any]:
    """Bring ``topology`` up ``reps`` times; ``on_up(net, rep)`` runs on each converged network
    (outside the timed part) for measurements that need one."""
    series = {s: Series("s") for s in STAGES}
    for rep in range(reps):
        with Network(catalog.build(topology, overrides), run=run) as net:
            conv = converge.wait_converged(net)
            first, last = daemon_starts(net)
            series["nodes_ready"].add(first)
            series["frr_started"].add(last)
            series["tunnels_up"].add(net.state.get("tunnels_up_s"))
            for stage, t in conv.stages.items():
                series[stage].add(t)
            series["total"].add(conv.total_s)
            if on_up is not None:
                on_up(net, rep)
            t0 = time.monotonic()
        series["teardown"].add(time.monotonic() - t0)
    return {"topology": topology, "repetitions": reps,
            "stages_s": summaries({k: s for k, s in series.items() if s.values})}
