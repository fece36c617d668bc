"""The pure parts of `testbed soak`: leaks over block series, flaps from trial events, blocks,
and the bookkeeping a resumed soak starts from."""
from __future__ import annotations

import pytest

from testbed.errors import TestbedError
from testbed.model.events import Event
from testbed.results.store import RunWriter, load_summary
from testbed.results.trial import Trial
from testbed.trials import health, soak

S = 1_000_000_000
TH = health.Thresholds(rss_pct=20, fds=10, count=1, blocks=3)


def sample(rss: float = 10.0, fds: int = 20, processes: int = 40, nft_tables: int = 2, files: int = 100,
           name: str = "ce1/bgpd") -> dict:
    return {"daemons": {name: {"rss_mib": rss, "fds": fds}}, "namespaces": 10, "processes": processes,
            "nft_tables": nft_tables, "files": files}


# --- leaks ----------------------------------------------------------------------------------
def test_growth_needs_growth_in_every_block_of_the_window():
    assert health.growth([1, 2, 3, 4], 3) == 3
    assert health.growth([9, 1, 2, 3, 4], 3) == 3       # only the window counts
    assert health.growth([1, 3, 2, 4], 3) is None       # went down once: noise, not a leak
    assert health.growth([1, 1, 1, 3], 3) is None       # one step: an allocation that stays
    assert health.growth([2, 2, 2, 2], 3) is None       # flat
    assert health.growth([1, 2, 3], 3) is None          # too short for the window


def test_rss_growing_in_every_block_beyond_the_threshold_is_a_leak():
    found = health.leaks([sample(rss=r) for r in (10.0, 10.8, 11.5, 12.1)], TH)
    assert len(found) == 1 and "ce1/bgpd RSS grew 21 %" in found[0]


def test_rss_growth_below_the_threshold_or_not_monotonic_is_no_leak():
    assert health.leaks([sample(rss=r) for r in (10.0, 10.5, 11.0, 11.5)], TH) == []
    assert health.leaks([sample(rss=r) for r in (10.0, 13.0, 12.0, 14.0)], TH) == []


def test_fds_leak_by_count():
    assert health.leaks([sample(fds=f) for f in (20, 23, 27, 29)], TH) == []
    found = health.leaks([sample(fds=f) for f in (20, 23, 27, 30)], TH)
    assert found == ["ce1/bgpd open fds grew by 10 over 3 blocks (20 -> 30, threshold 10)"]


@pytest.mark.parametrize("key", health.COUNTS)
def test_the_runs_own_counts_leak_at_one(key):
    assert health.leaks([sample(**{key: v}) for v in (5, 5, 5, 6)], TH) == []
    series = [sample(**{key: v}) for v in (5, 6, 7, 8)]
    assert health.leaks(series, TH) == [f"the run's {key.replace('_', ' ')} grew by 3 over 3 blocks (5 -> 8, threshold 1)"]


def test_a_daemon_missing_from_the_window_is_not_judged():
    series = [sample(rss=r) for r in (10.0, 11.0, 12.0)] + [sample(rss=30.0, name="ce1/zebra")]
    assert health.leaks(series, TH) == []


def test_daemon_growth_from_first_to_last_sample():
    g = health.daemon_growth([sample(rss=10.0, fds=20), sample(rss=10.5, fds=21)])
    assert g == {"ce1/bgpd": {"rss_mib": 10.5, "rss_growth_mib": 0.5, "fds": 21, "fds_growth": 1}}


# --- flaps ----------------------------------------------------------------------------------
def trial(*events: tuple[float, str, str], restored_ms: float | None = 2000.0) -> Trial:
    """Fault at 10 s, restore at 13 s; events at seconds (source, kind)."""
    return Trial("er-primary-blackhole", 7, "2026-01-01T00:00:00+00:00", inject_ns=10 * S, restore_ns=13 * S,
                 restored_ms=restored_ms, events=[Event(int(t * S), src, "ce1", kind, {"peer": "192.168.1.2", "via": "log"})
                                                   for t, src, kind in events])


def test_downs_inside_the_fault_window_are_no_flaps():
    t = trial((10.8, "bfd", "bfd-down"), (10.8, "bgp", "adj-down"), (13.2, "bfd", "bfd-down"), (15.9, "bgp", "adj-down"))
    assert health.flaps(t, settle_s=1.0) == []


def test_downs_before_the_fault_or_after_the_window_are_flaps():
    t = trial((9.5, "bfd", "bfd-down"), (16.5, "bgp", "adj-down"), (20.0, "bfd", "bfd-up"), (9.0, "bgp", "update"))
    assert health.flaps(t, settle_s=1.0) == [
        "trial 7: ce1 bfd-down (peer 192.168.1.2, log) 500 ms before the fault",
        "trial 7: ce1 adj-down (peer 192.168.1.2, log) 500 ms after the fault window",
    ]


def test_a_trial_never_back_at_baseline_ends_its_window_at_restore_plus_settle():
    assert len(health.flaps(trial((14.5, "bfd", "bfd-down"), restored_ms=None), settle_s=1.0)) == 1


# --- blocks and lines ------------------------------------------------------------------------
def done(index: int, outage: float, ok: bool = True) -> Trial:
    t = Trial("er-primary-blackhole", index, "2026-01-01T00:00:00+00:00", ok=ok)
    t.__dict__["outage_ms"] = outage  # the figures come from directions; a stand-in for the block's maths
    return t


def test_block_figures_take_the_blocks_trials_only(monkeypatch):
    monkeypatch.setattr(Trial, "outage_ms", property(lambda self: self.__dict__["outage_ms"]))
    trials = [done(1, 800), done(2, 900, ok=False), done(3, 700), done(4, 750), done(5, 10)]
    assert soak.block_figures(trials, 2, 2) == {"block": 2, "first_trial": 3, "last_trial": 4, "trials": 2,
                                                "failures": 0, "p50_ms": 725.0}
    assert soak.block_figures(trials, 1, 2)["failures"] == 1


def test_the_health_line_says_p50_drift_counts_and_flaps():
    block = {"block": 2, "first_trial": 51, "last_trial": 100, "trials": 50, "failures": 1, "p50_ms": 830.0,
             "flaps": 0, "health": sample()}
    line = health.line(block, 800.0)
    assert line.startswith("health after trial 100 (block 2): 1/50 failed, p50 830 ms (drift +30 ms); 1 daemons RSS")
    assert line.endswith("10 namespaces, 40 processes, 2 nft tables, 100 files; 0 flaps")


# --- resume bookkeeping -------------------------------------------------------------------------
def test_reopen_keeps_the_trials_on_disk_and_drops_the_one_in_flight(tmp_path):
    w = RunWriter(tmp_path, "er-primary-blackhole", "20260101T000000Z", {"trials_planned": 4})
    for k in (1, 2):
        w.add(Trial("er-primary-blackhole", k, "2026-01-01T00:00:00+00:00", ok=True))
    w.trial_path(3, "").mkdir()  # trial 3 started (its work directory) and never ended
    (w.trial_path(3, "") / "probe.rec").write_text("x")
    again = RunWriter.reopen(w.dir)
    assert [t.index for t in again.trials] == [1, 2] and again.lost == [3]
    assert not w.trial_path(3, "").exists()
    assert again.meta["trials_planned"] == 4 and "stats" not in again.meta
    again.add(Trial("er-primary-blackhole", 3, "2026-01-01T00:00:00+00:00", ok=True))
    assert load_summary(w.dir)["trials_done"] == 3


def test_soak_json_round_trips_and_a_finished_soak_is_not_resumed(tmp_path):
    s = soak.Soak("er-primary-blackhole", {"trials": 2, "soak": {"every": 1, "thresholds": {}, "settle_s": 1.0,
                                                                 "max_flaps": 0}})
    s.samples.append({"segment": 0, "after_trial": 1, "health": sample()})
    soak.save(tmp_path, s)
    assert soak.read(tmp_path) == s
    assert soak.read(tmp_path).soak_options().every == 1
    (tmp_path / "trials").mkdir()
    for k in (1, 2):
        (tmp_path / "trials" / f"{k:03d}.json").write_text("{}")
    with pytest.raises(TestbedError, match="already ran all its 2 trials"):
        soak.resume(tmp_path, lambda o: None, print)


def test_a_resumed_soak_judges_leaks_on_its_new_segment_only():
    s = soak.Soak("x", {}, samples=[{"segment": 0, "after_trial": k, "health": sample(rss=10.0 + k)} for k in range(4)])
    s.segment = 1
    s.samples.append({"segment": 1, "after_trial": 5, "health": sample(rss=20.0)})
    assert s.segment_samples() == [sample(rss=20.0)]


def test_a_directory_without_soak_json_is_one_sentence(tmp_path):
    with pytest.raises(TestbedError, match="holds no readable soak.json"):
        soak.read(tmp_path)


# --- the runner's on_trial: blocks, stops, soak.json --------------------------------------------
def watch(tmp_path, monkeypatch, rss: list[float], every: int = 1):
    """A Watch whose health samples are ``rss`` in turn (the daemons of a live run stand-in)."""
    values = iter(rss)
    monkeypatch.setattr(health, "sample", lambda net: sample(rss=next(values)))
    s = soak.Soak("er-primary-blackhole", {"trials": 10, "soak": {"every": every, "thresholds": vars(TH),
                                                                  "settle_s": 1.0, "max_flaps": 0}})
    lines: list[str] = []
    ctx = type("Ctx", (), {"net": None, "writer": type("W", (), {"dir": tmp_path, "trials": []})()})()
    return soak.Watch(s, lines.append), ctx, lines


def test_the_watch_stops_on_a_leak_after_the_window_and_keeps_it_on_disk(tmp_path, monkeypatch):
    w, ctx, lines = watch(tmp_path, monkeypatch, [10.0, 10.0, 11.0, 12.0, 13.0])
    reasons = []
    for k in range(1, 5):
        t = trial()
        t.index = k
        ctx.writer.trials.append(t)
        reasons.append(w(ctx, t))
    assert reasons[:3] == [None, None, None] and reasons[3].startswith("leak: ce1/bgpd RSS grew 30 %")
    assert [line.split(":")[0] for line in lines[1:]] == [f"health after trial {k} (block {k})" for k in range(1, 5)]
    on_disk = soak.read(tmp_path)
    assert on_disk.stopped == reasons[3] and len(on_disk.blocks) == 4 and len(on_disk.samples) == 5


def test_the_watch_stops_on_a_flap_at_once(tmp_path, monkeypatch):
    w, ctx, _ = watch(tmp_path, monkeypatch, [10.0] * 3, every=5)
    first, second = trial((10.5, "bfd", "bfd-down")), trial((2.0, "bgp", "adj-down"))
    first.index = 6
    ctx.writer.trials.append(first)  # the runner has written a trial when it calls the watch
    assert w(ctx, first) is None
    ctx.writer.trials.append(second)
    reason = w(ctx, second)
    assert reason == "flap: trial 7: ce1 adj-down (peer 192.168.1.2, log) 8000 ms before the fault"
    assert soak.read(tmp_path).flaps == [{"trial": 7, "what": reason.removeprefix("flap: ")}]


def test_a_resumed_watch_catches_up_the_block_and_flaps_the_killed_soak_never_saw(tmp_path, monkeypatch):
    w, ctx, lines = watch(tmp_path, monkeypatch, [10.0, 10.0], every=2)
    w.soak.checked = 1  # the killed soak saw trial 1; trial 2 was on disk, its block not yet counted
    seen = []
    for k, events in ((1, ()), (2, ((2.0, "bfd", "bfd-down"),)), (3, ())):
        t = trial(*events)
        t.index = k
        seen.append(t)
    ctx.writer.trials = seen
    w.soak.flaps = []
    assert w(ctx, seen[2]).startswith("flap: trial 2: ce1 bfd-down")
    assert [b["last_trial"] for b in w.soak.blocks] == [2] and w.soak.blocks[0]["health"] is None
    assert "not sampled (the soak stopped as the block ended)" in lines[1]
