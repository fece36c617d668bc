"""The runner: its settle logic on a fake network (no root), then whole scenarios (root, FRR)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testbed.trials import runner
from testbed.trials import scenario
from testbed.model.events import Event
from testbed.faults import LinkDown, LinkFlap, RandomLoss

BASE = {("core", "10.10.0.0/16"): (("10.20.255.2", "core-eth1"), ("10.20.255.6", "core-eth2"))}
FAILED = {("core", "10.10.0.0/16"): (("10.20.255.6", "core-eth2"),)}
FAST = runner.Options(poll_s=0.01, stable_s=0.05)


@pytest.fixture
def snapshots(monkeypatch):
    """Make fib_snapshot return the given snapshots in turn (the last one for ever)."""
    def use(*seq):
        it = iter(seq)
        last = [seq[-1]]
        monkeypatch.setattr(runner, "fib_snapshot", lambda net: next(it, last[0]))
    return use


def test_settles_once_the_fib_changed_and_held_still(snapshots):
    snapshots(BASE, BASE, FAILED)
    events: list[Event] = []
    t = runner.wait_settled(None, LinkDown("er-primary"), BASE, 5.0, FAST, events)
    assert t is not None and t == events[0].t_ns
    assert events[0].kind == "fib-change" and events[0].detail == {"prefix": "10.10.0.0/16", "via": ["core-eth2"]}


def test_no_change_before_the_deadline_is_not_settled(snapshots):
    snapshots(BASE)
    assert runner.wait_settled(None, LinkDown("er-primary"), BASE, 0.2, FAST, []) is None


def test_a_held_fault_just_waits(snapshots):
    snapshots(BASE)
    assert runner.wait_settled(None, RandomLoss("er-primary", percent=5, duration_s=0.05), BASE, 5.0, FAST, [])


def test_a_flap_settles_when_the_baseline_is_back(snapshots, monkeypatch):
    snapshots(FAILED, FAILED, BASE)
    monkeypatch.setattr(runner, "sessions_wrong", lambda net: [])
    events: list[Event] = []
    assert runner.wait_settled(None, LinkFlap("er-primary"), BASE, 5.0, FAST, events)
    assert [e.detail["via"] for e in events] == [["core-eth1", "core-eth2"]]


def test_baseline_reports_what_is_still_wrong(snapshots, monkeypatch):
    snapshots(FAILED)
    ok, wrong = runner.wait_baseline(None, BASE, 0.05, 0.01, [])
    assert not ok and wrong == ["core: 10.10.0.0/16 via core-eth2"]
    snapshots(BASE)
    monkeypatch.setattr(runner, "sessions_wrong", lambda net: ["ce1: BGP er-primary to msee1 is Active"])
    assert runner.wait_baseline(None, BASE, 0.05, 0.01, []) == (False, ["ce1: BGP er-primary to msee1 is Active"])


def test_floods_of_fib_events_are_trimmed_to_what_is_measured():
    ev = [Event(1, "fib", "core", "route-add", {"prefix": "10.128.0.0/24"}),
          Event(2, "fib", "core", "route-replace", {"prefix": "10.10.0.0/16"}),
          Event(3, "fib", "ce1", "link-down", {}), Event(4, "bgp", "ce1", "update", {})]
    assert [e.t_ns for e in runner.relevant(ev, {"10.10.0.0/16"})] == [2, 3, 4]


def test_a_leaks_update_keeps_the_measured_prefixes_and_the_count():
    leak = [f"10.128.{i}.0/24" for i in range(4000)] + ["10.10.0.0/16"]
    (e,) = runner.relevant([Event(1, "bgp", "ce1", "update", {"prefixes": leak, "as_path": [65020]})], {"10.10.0.0/16"})
    assert e.detail["prefix_count"] == 4001 and len(e.detail["prefixes"]) == runner.PREFIXES_KEPT
    assert e.detail["prefixes"][0] == "10.10.0.0/16" and e.detail["as_path"] == [65020]


# --- whole scenarios ----------------------------------------------------------------------------
live = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces, FRR)")


@pytest.mark.integration
@live
@pytest.mark.parametrize("name, sets", [
    ("er-primary-link-down", {}),
    ("er-primary-blackhole", {"bfd.interval_ms": 100}),
])
def test_scenario_runs_end_to_end(name, sets, tmp_path):
    sc = scenario.load(name)
    run_name = f"scenr{os.getpid() % 10000}"  # concurrent test suites must not collide
    opts = runner.Options(trials=3, overrides=sets, out=tmp_path, progress=False, run_name=run_name,
                          lead_s=0.5, validate_s=0.5)
    out = runner.run(sc, opts)
    s = json.loads((out.dir / "summary.json").read_text())
    assert s["trials_done"] == 3 and s["params"]["bfd.interval_ms"] == sets.get("bfd.interval_ms", 300)
    assert s["versions"]["frr"] and s["versions"]["kernel"]
    plan = s["probe"]["plan"]  # 4 ports, both ER paths carrying flows in both directions
    assert len(plan["ports"]) == 4 and plan["uncovered"] == []
    assert {d: {r[d] for r in plan["paths"].values()} for d in ("h1->vm1", "vm1->h1")} == \
        {"h1->vm1": {"er-primary", "er-secondary"}, "vm1->h1": {"er-primary", "er-secondary"}}
    assert sorted(p.name for p in (out.dir / "trials").iterdir()) == ["001.json", "001.png", "002.json", "002.png", "003.json", "003.png"]
    assert (out.dir / "ecdf.png").is_file() and (out.dir / "trials.csv").is_file()
    for t in out.trials:
        assert t.restored, t.error
        assert t.outage_ms > 0 and set(t.directions) == {"h1->vm1", "vm1->h1"}
        assert t.flows_on("er-primary", "before") and not t.flows_on("er-primary", "during")
        assert t.flows_on("er-primary", "after")  # failback: the primary carries traffic again
        assert any(e.kind == "inject" for e in t.events) and t.traffic["directions"]
    if name == "er-primary-blackhole":
        # BFD 100 ms x 3: detection in (200, 300] ms, and FRR's reaction on top of it
        assert all(200 < t.outage_ms <= 300 + scenario.REACTION_MS for t in out.trials), \
            [t.outage_ms for t in out.trials]
    else:
        assert all(t.outage_ms < scenario.REACTION_MS for t in out.trials), [t.outage_ms for t in out.trials]
    assert not (Path("/run/testbed") / run_name).exists()  # torn down
