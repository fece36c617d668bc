"""Scenario declarations and their expectations, on made-up trials (no root, fast)."""
from __future__ import annotations

import pytest

from testbed.errors import TestbedError
from testbed.model import catalog
from testbed.results.trial import DirectionFigures, FlowFigures, Trial
from testbed.trials import scenario
from testbed.trials.scenario import REACTION_MS

MOVED = {"before": "er-primary", "during": "er-secondary", "after": "er-primary"}
STAYED = {"before": "er-secondary", "during": "er-secondary", "after": "er-secondary"}


def made_up(outage_ms: float, loss_ms: float = 0.0, paths: dict | None = None, restored: bool = True,
            restore_loss_ms: float = 0.0) -> Trial:
    """Two directions, flow 0 on the failed path with the given figures, flow 1 elsewhere."""
    t = Trial("x", 1, "", restored=restored)
    for name in ("h1->vm1", "vm1->h1"):
        t.directions[name] = DirectionFigures(name, 1.0, [
            FlowFigures(0, outage_ms, loss_ms, 0.0, restore_loss_ms, 0, True, dict(paths or MOVED)),
            FlowFigures(1, 0.0, 0.0, 0.0, 0.0, 0, True, dict(STAYED))])
    return t


def verdict(name: str, t: Trial, **sets):
    sc = scenario.load(name)
    return sc.expect(catalog.build(sc.topology, {**sc.params, **sets}), t)


def test_every_scenario_loads_and_names_match_files():
    names = scenario.names()
    assert {"er-primary-link-down", "er-primary-blackhole", "er-primary-blackhole-no-bfd", "msee-maintenance",
            "ergw-maintenance",
            "prefix-limit-exceeded", "ce-bgpd-crash", "er-link-flap"} <= set(names)
    for n in names:
        sc = scenario.load(n)
        topo = catalog.build(sc.topology, dict(sc.params))  # its params are valid for its topology
        sc.fault(topo).check(topo)                           # its fault names real links/routers
        assert sc.trials >= 1 and sc.deadline_s(topo.params) > 0 and sc.summary


def test_unknown_scenario_is_a_clear_error():
    with pytest.raises(TestbedError, match="unknown scenario 'nope'.*er-primary-blackhole"):
        scenario.load("nope")


@pytest.mark.parametrize("interval, outage, ok", [
    (300, 600.0, False), (300, 601.0, True), (300, 900.0 + REACTION_MS, True), (300, 901.0 + REACTION_MS, False),
    (100, 199.0, False), (100, 250.0, True), (100, 300.0 + REACTION_MS + 1, False),
])
def test_bfd_window_follows_the_parameters(interval, outage, ok):
    v = verdict("er-primary-blackhole", made_up(outage), **{"bfd.interval_ms": interval})
    assert v.ok is ok, v.reason
    assert f"BFD {interval} ms x 3" in v.reason or not ok


def test_hold_timer_window_without_bfd():
    assert verdict("er-primary-blackhole-no-bfd", made_up(8500.0)).ok
    assert not verdict("er-primary-blackhole-no-bfd", made_up(6900.0)).ok


def test_a_flow_left_on_the_failed_path_fails_even_with_a_good_outage():
    v = verdict("er-primary-blackhole", made_up(800.0, paths={**MOVED, "during": "er-primary"}))
    assert not v.ok and "still on er-primary" in v.reason


def test_no_flow_on_the_failed_path_means_nothing_was_measured():
    v = verdict("er-primary-link-down", made_up(0.0, paths=STAYED))
    assert not v.ok and "nothing was measured" in v.reason


@pytest.mark.parametrize("params, window", [
    ({}, (44000, 46000, "dead peer detection 45 s")),                                   # Azure's defaults
    ({"vpn.dpd_timeout_s": 9}, (8000, 10000, "dead peer detection 9 s")),
    ({"vpngw.keepalive_s": 10, "vpngw.hold_s": 30}, (20000, 31000, "BGP hold 30 s after the last keepalive")),
    ({"vpngw.keepalive_s": 10, "vpngw.hold_s": 50}, (40000, 46000, "BGP hold 50 s or dead peer detection 45 s")),
])
def test_a_dead_tunnel_is_found_by_whichever_detector_ends_first(params, window):
    from testbed.model.params import Params
    assert scenario.dead_tunnel_ms(Params(params)) == window


def test_link_down_and_maintenance_limits():
    assert verdict("er-primary-link-down", made_up(80.0)).ok
    assert not verdict("er-primary-link-down", made_up(120.0)).ok
    assert not verdict("er-primary-link-down", made_up(REACTION_MS)).ok
    assert verdict("msee-maintenance", made_up(2.0, loss_ms=1.0)).ok
    v = verdict("msee-maintenance", made_up(0.0, restore_loss_ms=11.0))
    assert not v.ok and "11 ms at restore" in v.reason


def test_all_of_lists_only_the_failures():
    good, bad = scenario.Verdict(True, "fine"), scenario.Verdict(False, "broken")
    assert scenario.all_of(good, bad) == scenario.Verdict(False, "broken")
    assert scenario.all_of(good, good).reason == "fine; fine"
    assert not scenario.back_to_baseline(made_up(0.0, restored=False)).ok


@pytest.mark.parametrize("name", scenario.names())
def test_every_scenario_runs_on_a_users_network_or_says_what_is_missing(name):
    """Faults and expectations name the network's elements: on the two-circuit network every
    scenario finds what it needs; on the others it either does or says so in one sentence."""
    sc = scenario.load(name)
    # the takeover scenarios want the gateway active-standby, which is one parameter away
    standby = {"vpngw.instances": 1} if sc.topology == "vpn-active-standby" else {}
    topo = catalog.build("two-circuits-hub-spoke", {**sc.params, **standby})
    sc.fault(topo).check(topo)
    for other in ("expressroute", "vpn", "vpn-active-standby"):
        topo = catalog.build(other, dict(sc.params))
        try:
            sc.fault(topo).check(topo)
        except TestbedError as e:
            assert "needs" in str(e) and str(e).endswith(").") and "\n" not in str(e), str(e)


def test_the_main_job_passes_run_every_option_run_has():
    """testbed demo hands its arguments to run: a new run option must reach it (--network once did not)."""
    from testbed.ui.scenarios import DEMO_SCENARIO, DEMO_TRIALS, demo_args
    args = demo_args("out")
    assert (args.scenario, args.trials, args.out, args.network) == ([DEMO_SCENARIO], DEMO_TRIALS, "out", None)
