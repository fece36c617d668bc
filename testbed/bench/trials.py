"""Trial throughput: ``er-primary-blackhole`` through the runner, timed trial by trial.

A trial's cycle is the time between the runner reporting one trial and the next, split by the
trial's own stamps into

===============  ==========================================================================
before_fault     baseline check, watchers and probes started, the lead window of traffic
fault_settled    the fault until the FIBs settled (BFD detection, BGP, FIB)
settled_restore  the FIBs still and traffic on the new paths (the runner's adaptive windows)
recovery         restore until every FIB and session is back at the baseline
after            traffic on the baseline's paths, then analysis and the trial's file (the
                 timelines are drawn after the last trial)
===============  ==========================================================================

The first trial has no previous report to count from, so N trials give N-1 cycles; what the
run costs besides its trials (bring-up, watcher preparation, teardown) is the wall time minus
N median cycles, and 30 trials are projected from the two when fewer were run.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from testbed.bench.series import Series, summaries
from testbed.model.events import now_ns
from testbed.results.trial import Trial
from testbed.trials import runner, scenario

SCENARIO = "er-primary-blackhole"
PHASES = ("before_fault", "fault_settled", "settled_restore", "recovery", "after")
PROJECTED_TRIALS = 30


def trial_cycle(trials: int, out: Path, run: str) -> dict[str, Any]:
    sc = scenario.load(SCENARIO)
    reports: list[tuple[int, Trial]] = []
    t0 = time.monotonic()
    outcome = runner.run(sc, runner.Options(trials=trials, out=out, progress=False, run_name=run),
                         on_trial=lambda _ctx, t: reports.append((now_ns(), t)))
    wall_s = time.monotonic() - t0
    cycle = Series("s")
    phases = {p: Series("s") for p in PHASES}
    for (prev_ns, _), (ns, t) in zip(reports, reports[1:]):
        cycle.add((ns - prev_ns) / 1e9)
        if t.settled_ms is None or t.restored_ms is None:
            continue  # a failed trial: its cycle counts, its phases are not comparable
        phases["before_fault"].add((t.inject_ns - prev_ns) / 1e9)
        phases["fault_settled"].add(t.settled_ms / 1e3)
        phases["settled_restore"].add((t.restore_ns - t.inject_ns) / 1e9 - t.settled_ms / 1e3)
        phases["recovery"].add(t.restored_ms / 1e3)
        phases["after"].add((ns - t.restore_ns) / 1e9 - t.restored_ms / 1e3)
    median = cycle.median
    overhead_s = wall_s - len(reports) * median if median else None
    measured = len(reports) == PROJECTED_TRIALS
    thirty_s = wall_s if measured else (overhead_s + PROJECTED_TRIALS * median if median else None)
    return {
        "scenario": SCENARIO, "trials": len(reports), "passed": outcome.summary.get("passed"),
        "results": str(outcome.dir), "wall_s": round(wall_s, 2),
        "options": {k: getattr(runner.Options(), k) for k in ("lead_s", "validate_s", "stable_s", "min_traffic_s", "still_s", "flows", "rate")},
        "cycle_s": cycle.to_dict(), "phases_s": summaries(phases),
        "trials_per_min": round(60 / median, 2) if median else None,
        "overhead_s": round(overhead_s, 2) if overhead_s is not None else None,
        "thirty_trials_s": round(thirty_s, 1) if thirty_s is not None else None,
        "thirty_trials_measured": measured,
    }
