"""Trial figures, statistics, result files, the report diff and the plots (no root, fast)."""
from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from testbed.measure.outage import Records, analyze_direction
from testbed.model.events import Event
from testbed.results import plots, report, store
from testbed.results import trial as results
from testbed.results.store import RunWriter
from testbed.results.trial import Trial

MS = 1_000_000


def direction(lost: set[int], n: int = 1000, flow: int = 0, name: str = "h1->vm1"):
    """One flow at 1000 pps (seq k sent at k ms) missing the sequence numbers in ``lost``."""
    rows = [(flow, k, k * MS, k * MS + 50_000) for k in range(n) if k not in lost]
    return analyze_direction(Records.from_rows(rows), interval_ns=MS, sent=[n], direction=name)


def trial(outage_lost: set[int], index: int = 1, ok: bool = True) -> Trial:
    d = direction(outage_lost | {10} | set(range(500, 510)))
    paths = {0: {"before": "er-primary", "during": "er-secondary", "after": "er-primary"}}
    t = Trial("er-primary-blackhole", index, "2026-01-01T00:00:00+00:00", inject_ns=100 * MS,
              restore_ns=400 * MS, restored=True, ok=ok, reason="because")
    t.directions["h1->vm1"] = results.direction_figures(d, 100 * MS, 400 * MS, paths)
    t.events = [Event(100 * MS, "fault", "ce1", "inject", {"issued_ns": 99 * MS}),
                Event(700 * MS, "bfd", "ce1", "bfd-down"), Event(400 * MS, "fault", "msee1", "restore")]
    t.traffic = {"origin_ns": 0, "bucket_ms": 10.0,
                 "directions": {"h1->vm1": {"er-primary": [10] * 10 + [0] * 50 + [10] * 40,
                                            "er-secondary": [0] * 20 + [10] * 40 + [0] * 40}}}
    return t


def test_gaps_are_split_into_baseline_fault_and_restore_phases():
    t = trial(set(range(100, 200)))
    f = t.directions["h1->vm1"].flows[0]
    assert f.outage_ms == pytest.approx(101.0)           # last good 99 ms, first good 200 ms
    assert f.loss_ms == pytest.approx(100.0)
    assert f.restore_outage_ms == pytest.approx(11.0)    # 499 -> 510
    assert f.restore_loss_ms == pytest.approx(10.0)
    assert f.baseline_lost == 1
    assert f.recovered
    assert f.outage_span_ns == (99 * MS, 200 * MS)
    assert t.outage_ms == pytest.approx(101.0) and t.restore_outage_ms == pytest.approx(11.0)


def test_a_packet_sent_while_the_fault_was_applied_belongs_to_the_fault():
    # The last good packet went out 0.5 ms before the fault was issued: within the tolerance.
    d = direction(set(range(100, 150)))
    figs = results.direction_figures(d, 100 * MS + MS // 2, 400 * MS, {})
    assert figs.flows[0].outage_ms == pytest.approx(51.0) and figs.flows[0].baseline_lost == 0


def test_packets_in_flight_when_the_fault_hit_belong_to_the_fault():
    # Over userspace ESP the last good packet left 5 ms before the fault: its gap is the fault's.
    d = direction(set(range(95, 300)))
    figs = results.direction_figures(d, 100 * MS, 400 * MS, {})
    assert figs.flows[0].outage_ms == pytest.approx(206.0) and figs.flows[0].baseline_lost == 0
    # ... while a gap that closed before the fault stays the baseline's
    f = results.direction_figures(direction({50, 51}), 100 * MS, 400 * MS, {}).flows[0]
    assert f.baseline_lost == 2 and f.outage_ms == 0.0


def test_an_outage_still_open_at_restore_is_not_recovered():
    d = direction(set(range(100, 450)))
    f = results.direction_figures(d, 100 * MS, 400 * MS, {}).flows[0]
    assert not f.recovered and f.outage_ms == pytest.approx(351.0)


def test_flows_on_a_path_and_direction_maxima():
    t = trial(set(range(100, 200)))
    assert t.flows_on("er-primary", "before") == [("h1->vm1", 0)]
    assert t.flows_on("er-primary", "during") == []
    assert t.directions["h1->vm1"].paths("during") == ["er-secondary"]


def test_stats():
    s = results.stats([3.0, 1.0, 2.0, None, 4.0])
    assert s == {"n": 4, "min": 1.0, "p50": 2.5, "p95": 3.85, "max": 4.0, "mean": 2.5, "stdev": 1.291}
    assert results.stats([])["n"] == 0 and results.stats([5.0])["stdev"] == 0.0


def test_timings_from_watcher_events():
    inject = Event(100 * MS, "fault", "ce1", "inject", {"issued_ns": 99 * MS})
    ev = [Event(98 * MS, "bfd", "ce1", "bfd-down"),       # before the fault: ignored
          Event(99 * MS + 500_000, "fib", "ce1", "link-down"),  # after issue, before the stamp
          Event(700 * MS, "bgp", "ce1", "adj-down"),
          Event(760 * MS, "fib", "core", "route-replace", {"prefix": "10.10.0.0/16"}),
          Event(770 * MS, "fib", "core", "route-replace", {"prefix": "10.99.0.0/24"}),
          Event(780 * MS, "fib", "ergw", "route-replace", {"prefix": "10.10.0.0/16"})]
    t = results.timings(ev, inject, 900 * MS, {"10.10.0.0/16"})
    assert t == {"detection_ms": 0.5, "bgp_ms": 601.0, "fib_ms": 661.0, "fib_last_ms": 681.0}
    assert results.timings([], inject, 900 * MS, set())["detection_ms"] is None


def test_trial_round_trips_through_json():
    t = trial(set(range(100, 200)))
    back = Trial.from_dict(json.loads(json.dumps(t.to_dict())))
    assert back.to_dict() == t.to_dict()
    assert back.directions["h1->vm1"].flows[0].outage_span_ns == (99 * MS, 200 * MS)


def test_run_writer_keeps_every_trial_and_a_summary(tmp_path):
    w = RunWriter(tmp_path, "er-primary-blackhole", "20260101T000000Z", {"params": {"bfd.interval_ms": 300}})
    assert json.loads((w.dir / "summary.json").read_text())["trials_done"] == 0  # written at once
    w.add(trial(set(range(100, 200)), 1))
    w.add(trial(set(range(100, 300)), 2, ok=False))
    s = store.load_summary(w.dir)
    assert s["trials_done"] == 2 and s["passed"] == 1 and s["ok"] is False
    assert s["params"] == {"bfd.interval_ms": 300}
    assert s["stats"]["outage_ms"]["max"] == pytest.approx(201.0)
    assert s["stats"]["h1->vm1 outage_ms"]["n"] == 2
    rows = list(csv.DictReader(io.StringIO((w.dir / "trials.csv").read_text())))
    assert [r["trial"] for r in rows] == ["1", "2"] and rows[0]["h1->vm1 paths during"] == "er-secondary"
    assert store.load_trial(w.trial_path(2, ".json")).outage_ms == pytest.approx(201.0)
    assert store.find_runs(tmp_path) == [w.dir] and store.find_runs(w.dir) == [w.dir]
    assert report.failures(s) == ["trial 2: because"]


def test_compare_against_a_baseline():
    cur = {"stats": {"outage_ms": {"p50": 880.0, "p95": 990.0, "max": 1000.0, "mean": 870.0}}}
    base = {"stats": {"outage_ms": {"p50": 800.0, "p95": 900.0, "max": None, "mean": 0.0}}}
    rows = {r["stat"]: r for r in report.compare(cur, base, metrics=("outage_ms",))}
    assert rows["p50"]["delta"] == 80.0 and rows["p50"]["pct"] == 10.0
    assert rows["max"]["delta"] is None and rows["mean"]["pct"] is None


def test_tables_render(tmp_path):
    w = RunWriter(tmp_path, "er-primary-blackhole", "20260101T000000Z", {})
    w.add(trial(set(range(100, 200))))
    s = store.load_summary(w.dir)
    con = Console(file=io.StringIO(), width=200)
    con.print(report.summary_table([s]))
    con.print(report.diff_table(s, s))
    out = con.file.getvalue()
    assert "er-primary-blackhole" in out and "PASS" in out and "+0" in out


def test_plots_are_written(tmp_path):
    t = trial(set(range(100, 200)))
    assert plots.timeline(t, tmp_path / "t.png").stat().st_size > 10_000
    assert plots.ecdf([t, trial(set(range(100, 300)), 2)], tmp_path / "e.png", "x").stat().st_size > 10_000
    assert plots.timeline(Trial("x", 1, ""), tmp_path / "none.png") is None


def test_every_path_label_gets_a_colour_of_its_own():
    colours = plots.path_colours(["er-primary", "unmarked", "site2-er", "site2-vpn"])
    assert colours["er-primary"] == plots.PATH_COLOURS["er-primary"]   # the reference paths keep theirs
    assert len(set(colours.values())) == 4                             # a user's labels are told apart
