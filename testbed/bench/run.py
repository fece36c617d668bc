"""``testbed bench``: how fast the testbed comes up, how fast it converges at scale, what it costs.

Each figure is repeated and kept with the load average it was measured under (the machine may
be shared: compare runs by their loads too), then judged against the issue's targets. The
sections run in this order, each writing ``bench.json`` as it ends so an interrupted run keeps
what it measured:

1. bring-up of ``expressroute``, ``vpn`` and ``hybrid`` (:mod:`testbed.bench.bringup`); on every
   hybrid repetition the memory per router node (:mod:`testbed.bench.memory`), on the last one
   the probes' CPU cost (:mod:`testbed.bench.probe`);
2. trials of ``er-primary-blackhole`` through the runner (:mod:`testbed.bench.trials`);
3. FIB convergence at 1,000 / 4,000 / 10,000 prefixes against the kernel (:mod:`testbed.bench.fib`);
4. the largest chain of routers that comes up in 60 s (:mod:`testbed.bench.chain`), last
   because its top steps load the machine for minutes.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from testbed.bench import targets as bench_targets
from testbed.bench.bringup import bring_up
from testbed.bench.chain import chain_fit
from testbed.bench.fib import fib_scale
from testbed.bench.memory import MemoryFigures
from testbed.bench.probe import probe_cpu
from testbed.bench.trials import trial_cycle
from testbed.runtime.net import Network
from testbed.system.procs import meminfo_mib
from testbed.trials import runner

TOPOLOGIES = ("expressroute", "vpn", "hybrid")
FORMAT = "testbed-bench/1"


@dataclass(frozen=True)
class Plan:
    mode: str
    bringup_reps: int
    trials: int                                  # N trials give N-1 cycles
    prefix_counts: tuple[int, ...]
    fib_reps: int
    probe_loads: tuple[tuple[int, float], ...]   # (flows, packets/s per flow)
    probe_windows: int
    probe_window_s: float
    chain_start: int
    chain_cap: int


# Probe loads: 1,000 packets/s each way, and the runner's default (4 flows x 1,000/s).
# Quick is a smoke test of every figure (the suite runs it): one repetition of each.
QUICK = Plan("quick", bringup_reps=1, trials=2, prefix_counts=(1000,), fib_reps=1,
             probe_loads=((4, 250.0), (4, 1000.0)), probe_windows=1, probe_window_s=1.0,
             chain_start=8, chain_cap=8)
FULL = Plan("full", bringup_reps=5, trials=30, prefix_counts=(1000, 4000, 10000), fib_reps=5,
            probe_loads=((4, 250.0), (4, 1000.0)), probe_windows=5, probe_window_s=2.0,
            chain_start=8, chain_cap=1024)


def machine() -> dict[str, Any]:
    v = runner.versions()
    return {"cores": os.cpu_count(), "kernel": v["kernel"], "frr": v["frr"], "strongswan": v["strongswan"],
            "python": v["python"], "memory_total_mib": round(meminfo_mib("MemTotal")),
            "load_avg_start": [round(x, 2) for x in os.getloadavg()]}


def save(doc: dict[str, Any], out: Path) -> Path:
    path = out / "bench.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, path)
    return path


def run(plan: Plan, out: Path, say: Callable[[str], None] = lambda msg: None) -> dict[str, Any]:
    """Run every section of ``plan``; ``bench.json`` in ``out`` holds the figures and targets."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    tag = os.getpid() % 10000  # run names stay unique per process and within 12 characters
    doc: dict[str, Any] = {"format": FORMAT, "mode": plan.mode,
                           "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "machine": machine(), "plan": asdict(plan)}
    memory, probes = MemoryFigures(), []

    def on_hybrid(net: Network, rep: int) -> None:
        memory.add(net)
        if rep == plan.bringup_reps - 1:
            probes.extend(probe_cpu(net, f, r, plan.probe_windows, plan.probe_window_s) for f, r in plan.probe_loads)

    def section(name: str, what: str, measure: Callable[[], Any]) -> None:
        say(f"{what} ...")
        doc[name] = measure()
        doc["duration_s"] = round(time.monotonic() - t0, 1)
        save(doc, out)

    section("bringup", f"bring-up of {', '.join(TOPOLOGIES)}, {plan.bringup_reps} times each",
            lambda: {t: bring_up(t, plan.bringup_reps, f"benchup{tag}", on_up=on_hybrid if t == "hybrid" else None)
                     for t in TOPOLOGIES})
    doc["memory"], doc["probe_cpu"] = memory.to_dict(), probes
    section("trials", f"{plan.trials} trials of er-primary-blackhole",
            lambda: trial_cycle(plan.trials, out / "trials", f"benchtr{tag}"))
    section("fib_scale", f"FIB failover with {', '.join(f'{n:,}' for n in plan.prefix_counts)} prefixes",
            lambda: fib_scale(list(plan.prefix_counts), plan.fib_reps, f"benchfib{tag}"))
    section("chain", f"chain of routers from {plan.chain_start}, doubling (cap {plan.chain_cap})",
            lambda: chain_fit(plan.chain_start, plan.chain_cap, f"benchch{tag}"))
    doc["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    doc["targets"] = bench_targets.evaluate(doc)
    doc["duration_s"] = round(time.monotonic() - t0, 1)
    save(doc, out)
    return doc
