"""Calibration: pure helpers on synthetic probe records, and a quick live run (root)."""
from __future__ import annotations

from testbed.measure import calibrate as cal
from testbed.measure.outage import Records, RunResult, analyze_direction

MS = 1_000_000


def _direction(lost_from_ns: int, lost_to_ns: int, flows: int = 2, n: int = 400, I: int = MS,
               t0: int = 10 * MS) -> object:
    """Records of a perfectly paced sender whose packets sent in [from, to) were dropped."""
    rows = []
    for seq in range(n):
        t = t0 + seq * I
        if lost_from_ns <= t < lost_to_ns:
            continue
        for f in range(flows):
            rows.append((f, seq, t, t + 50_000))
    return analyze_direction(Records.from_rows(rows), interval_ns=I, flows=flows,
                             windows=[(0, n - 1)] * flows, direction="x")


def test_window_and_bounds():
    # the estimate runs commit to commit (each transaction took effect between its issue and
    # its commit stamp); the bracket spans the stamps either way
    w = cal.window(100, 300, 20_000_300, 20_000_700)
    assert w["window_ns"] == 20_000_400 and w["window_min_ns"] == 20_000_000 and w["window_max_ns"] == 20_000_600
    b = cal.error_bounds_ms(1.0, w)
    assert b == {"timestamp": [0.0, 2.0], "loss": [-1.0, 1.0]}
    # a slow restore widens the low side (the drop may have ended up to its duration early), a
    # slow inject the high side (it may have begun up to its duration early)
    slow = cal.window(0, 8 * MS, 100 * MS, 116 * MS)
    assert slow["window_ns"] == 108 * MS
    assert cal.error_bounds_ms(1.0, slow) == {"timestamp": [-16.0, 10.0], "loss": [-17.0, 9.0]}


def test_measure_row_and_summary_on_synthetic_gap():
    # drop window 100.0 .. 120.5 ms: packets at 100..120 ms are lost (21 packets per flow)
    lo, hi = 100 * MS, 120 * MS + 500_000
    w = cal.window(lo - 100_000, lo, hi - 150_000, hi)   # injected 20.5 ms (commit to commit)
    res = RunResult({"a->b": _direction(lo, hi), "b->a": _direction(lo, hi)})
    row = cal.measure_row(res, w, 20)
    d = row["directions"]["a->b"]
    assert row["injected_ms"] == 20.5
    assert d["flow_lost"] == [21, 21]
    assert d["timestamp_ms"] == 22.0 and d["timestamp_err_ms"] == 1.5   # (lost + 1) * I
    assert d["loss_ms"] == 21.0 and d["loss_err_ms"] == 0.5              # lost * I
    lo_b, hi_b = d["bounds_ms"]["timestamp"]
    assert lo_b <= d["timestamp_err_ms"] <= hi_b
    s = cal.summarize([row, row], tolerance_ms=2.0)
    assert s["20"]["ok"] and s["20"]["timestamp"]["max_abs"] == 1.5 and s["20"]["loss"]["n"] == 4
    assert s["20"]["timestamp"]["within_bound"] and s["20"]["loss"]["within_bound"]
    assert not cal.summarize([row], tolerance_ms=1.0)["20"]["ok"]
    # an injection no flow saw is a failure, not a silent pass
    miss = cal.measure_row(res, cal.window(300 * MS, 300 * MS, 301 * MS, 301 * MS), 20)
    assert miss["directions"]["a->b"]["timestamp_ms"] is None
    assert cal.summarize([miss])["20"]["ok"] is False


def test_jitter_from_sidecars():
    meta = {"lateness_us": {"count": 10, "p50_us": 5, "p99_us": 60, "p999_us": 70, "max_us": 80,
                            "mean_us": 7.0, "over_1ms": 0}}
    assert cal.jitter({"a": meta})["a"]["p99_us"] == 60
