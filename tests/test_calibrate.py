"""Calibration: pure helpers on synthetic probe records, and a quick live run (root)."""
from __future__ import annotations

import os
import subprocess

import pytest

from testbed.measure import calibrate as cal
from testbed.measure.outage import Records, RunResult, analyze_direction

MS = 1_000_000
ROOT = os.geteuid() == 0


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
    w = cal.window(100, 300, 20_000_300, 20_000_700)
    assert w["window_ns"] == 20_000_400 and w["window_min_ns"] == 20_000_000 and w["window_max_ns"] == 20_000_600
    b = cal.error_bounds_ms(1.0, w)
    assert b == {"timestamp": [0.0, 2.0], "loss": [-1.0, 1.0]}


def test_measure_row_and_summary_on_synthetic_gap():
    # drop window 100.0 .. 120.5 ms: packets at 100..120 ms are lost (21 packets per flow)
    lo, hi = 100 * MS, 120 * MS + 500_000
    w = cal.window(lo - 100_000, lo, hi - 150_000, hi)   # injected 20.5 ms
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


@pytest.mark.integration
@pytest.mark.skipif(not ROOT, reason="needs root (namespaces, nftables)")
def test_calibration_quick():
    r = cal.calibrate((20, 100), repeats=2, spacing_ms=200, warmup_s=0.8, tail_s=0.4)
    print({k: (v["timestamp"]["max_abs"], v["loss"]["max_abs"]) for k, v in r["summary"].items()}, r["jitter"])
    for row in r["rows"]:
        print(row["nominal_ms"], row["injected_ms"], row["bracket_ms"],
              {k: (d["timestamp_err_ms"], d["loss_err_ms"], d["bounds_ms"]) for k, d in row["directions"].items()})
    # consistency: every error lies inside its bound (pacing, bracket, the sender's lateness)
    for nominal, s in r["summary"].items():
        assert s["timestamp"]["within_bound"] and s["loss"]["within_bound"], (nominal, s)
    assert len(r["rows"]) == 4 and set(r["rows"][0]["directions"]) == {"a->b", "b->a"}
    for nominal, s in r["summary"].items():
        for m in ("timestamp", "loss"):
            assert s[m]["missing"] == 0 and s[m]["n"] == 4
        # RFC 6412 loss-derived: in (W - I, W + I); RFC 6414 timestamp method: an upper bound in
        # [W, W + 2I); each widened by the injector's bracket and the sender's lateness, which
        # the bounds above hold every sample to. A fixed 2 ms figure belongs to `testbed
        # calibrate` on a quiet machine (its many repetitions are in the closing notes): here,
        # under the suite's load, the injector's own transaction once took 6.7 ms.
        assert s["timestamp"]["min"] >= -0.5, (nominal, s)  # never below the outage
    for row in r["rows"]:
        assert row["bracket_ms"][0] <= row["injected_ms"] <= row["bracket_ms"][1]
        assert abs(row["injected_ms"] - row["nominal_ms"]) < 10.0  # the injector did as asked
    assert r["jitter"]["a"]["count"] > 1000
    # nothing left behind on the host
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"cal{os.getpid() % 100000}a" not in links
    assert "tbcal" not in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
