"""The runner: its settle logic on a fake network (no root), then whole scenarios (root, FRR)."""
from __future__ import annotations

import pytest

from testbed.faults import LinkDown, LinkFlap, RandomLoss
from testbed.model.events import Event
from testbed.trials import runner

BASE = {("core", "10.10.0.0/16"): (("10.20.255.2", "core-eth1"), ("10.20.255.6", "core-eth2"))}
FAILED = {("core", "10.10.0.0/16"): (("10.20.255.6", "core-eth2"),)}
FAST = runner.Options(poll_s=0.01, stable_s=0.05, still_s=0.02)


class Flowing:
    """A probe pair's delivery: every flow delivered since any instant, or ``missing`` for ever."""

    def __init__(self, missing: list[str] | None = None) -> None:
        self.missing = missing or []

    def missing_since(self, t_ns: int) -> list[str]:
        return self.missing


FLOWING, STUCK = Flowing(), Flowing(["h1->h2 flow 0: nothing sent since then delivered yet"])


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
    t = runner.wait_settled(None, LinkDown("er-primary"), BASE, 5.0, FAST, events, STUCK)
    assert t is not None and t == events[0].t_ns
    assert events[0].kind == "fib-change" and events[0].detail == {"prefix": "10.10.0.0/16", "via": ["core-eth2"]}


def test_still_fibs_with_traffic_on_every_flow_settle_before_the_stable_window(snapshots):
    """The stable window is an upper bound: still for ``still_s`` with traffic delivered is enough."""
    import time
    opts = runner.Options(poll_s=0.01, stable_s=5.0, still_s=0.05)
    snapshots(BASE, FAILED)
    t0 = time.monotonic()
    assert runner.wait_settled(None, LinkDown("er-primary"), BASE, 10.0, opts, [], FLOWING) is not None
    assert time.monotonic() - t0 < 1.0


def test_still_fibs_without_traffic_wait_out_the_stable_window(snapshots):
    import time
    opts = runner.Options(poll_s=0.01, stable_s=0.3, still_s=0.02)
    snapshots(BASE, FAILED)
    t0 = time.monotonic()
    assert runner.wait_settled(None, LinkDown("er-primary"), BASE, 10.0, opts, [], STUCK) is not None
    assert time.monotonic() - t0 >= 0.3


def test_a_traffic_window_ends_when_every_flow_delivered_or_at_its_bound():
    import time
    from testbed.model.events import now_ns
    opts = runner.Options(min_traffic_s=0.0)
    t0 = time.monotonic()
    runner.traffic_window(FLOWING, now_ns(), opts, 5.0)
    assert time.monotonic() - t0 < 0.5
    t0 = time.monotonic()
    runner.traffic_window(STUCK, now_ns(), opts, 0.2)
    assert 0.2 <= time.monotonic() - t0 < 0.7


def test_no_change_before_the_deadline_is_not_settled(snapshots):
    snapshots(BASE)
    assert runner.wait_settled(None, LinkDown("er-primary"), BASE, 0.2, FAST, [], FLOWING) is None


def test_a_held_fault_just_waits(snapshots):
    snapshots(BASE)
    assert runner.wait_settled(None, RandomLoss("er-primary", percent=5, duration_s=0.05), BASE, 5.0, FAST, [], FLOWING)


def test_a_flap_settles_when_the_baseline_is_back(snapshots, monkeypatch):
    snapshots(FAILED, FAILED, BASE)
    monkeypatch.setattr(runner, "sessions_wrong", lambda net: [])
    events: list[Event] = []
    assert runner.wait_settled(None, LinkFlap("er-primary"), BASE, 5.0, FAST, events, FLOWING)
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
