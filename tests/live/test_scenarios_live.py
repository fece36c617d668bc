"""Every scenario, 3 trials each, against real FRR and strongSwan: each must meet its own
expectation (the claim its file states), and leave the host as it found it.

Scenarios of the same network and parameters run together on one bring-up (``runner.run_all``,
as ``testbed run A B C`` does): the first test of such a group runs them all, each test then
checks its own scenario's outcome."""
import dataclasses
import hashlib
import os

import pytest

from testbed.trials import runner, scenario

pytestmark = pytest.mark.integration
# tests/test_runner.py runs these two in more detail (files, flows, failback), 3 trials too
IN_DETAIL = {"er-primary-link-down", "er-primary-blackhole"}
# the lowest timers FRR accepts where the scenario waits out a hold time: its expectation scales
SUITE_SETS = {"vpn-instance-down": {"vpngw.keepalive_s": 1, "vpngw.hold_s": 3},
              # a takeover of seconds, not a minute; the device's session outlives the planned one
              "vpngw-planned-maintenance": {"vpngw.takeover_planned_s": 3, "vpngw.keepalive_s": 2, "vpngw.hold_s": 9},
              "vpngw-unplanned-failover": {"vpngw.takeover_unplanned_s": 8, "vpngw.keepalive_s": 1, "vpngw.hold_s": 3},
              # Azure's lowest dead peer detection timeout, 9 s, where the scenario waits it out
              "vpn-tunnel-silent": {"vpn.dpd_timeout_s": 9},
              "vpngw-ike-daemon-killed": {"vpn.dpd_timeout_s": 9},
              "vpn-tunnel-silent-hold": {"vpngw.keepalive_s": 1, "vpngw.hold_s": 3, "vpn.dpd_timeout_s": 9}}
# the circuit scenarios on a user's network: Amsterdam fails over to Frankfurt, then both to the VPN
SUITE_NETWORKS = {"er-circuit-down": "two-circuits-hub-spoke",
                  "er-all-circuits-down": "two-circuits-hub-spoke"}


NAMES = [n for n in scenario.names() if n not in IN_DETAIL]


def options(name: str, out) -> runner.Options:
    # shorter upper bounds on the lead and validation windows than a user's run
    return runner.Options(trials=3, out=out, progress=False, run_name=f"scall{os.getpid() % 10000}",
                          lead_s=0.5, validate_s=0.5, network=SUITE_NETWORKS.get(name))


def suite_scenario(name: str) -> scenario.Scenario:
    """The scenario with the suite's parameters (``SUITE_SETS``) as its own."""
    sc = scenario.load(name)
    return dataclasses.replace(sc, params={**sc.params, **SUITE_SETS.get(name, {})})


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """The outcome of a scenario (or the error of its group's run), its group run on first use."""
    done: dict[str, runner.RunOutcome | Exception] = {}

    def outcome(name: str):
        if name not in done:
            out = tmp_path_factory.mktemp("scenarios")
            key = runner.bring_up_key(suite_scenario(name), options(name, out))
            group = [n for n in NAMES if n not in done and SUITE_NETWORKS.get(n) == SUITE_NETWORKS.get(name)
                     and runner.bring_up_key(suite_scenario(n), options(n, out)) == key]
            try:
                done.update(zip(group, runner.run_all([suite_scenario(n) for n in group], options(name, out))))
            except Exception as e:  # each test of the group reports the run's error, none reruns it
                done.update((n, e) for n in group)
        return done[name]
    return outcome


def grouped(name: str):
    """The scenario as a test parameter, in the xdist group of its bring-up (one worker runs it)."""
    key = repr((SUITE_NETWORKS.get(name), runner.bring_up_key(suite_scenario(name), options(name, None))))
    return pytest.param(name, marks=pytest.mark.xdist_group(f"scenarios-{hashlib.sha1(key.encode()).hexdigest()[:8]}"))


@pytest.mark.parametrize("name", [grouped(n) for n in NAMES])
def test_every_scenario_meets_its_expectation(name, outcomes):
    out = outcomes(name)
    if isinstance(out, Exception):
        raise out
    failed = [f"trial {t.index}: {t.error or t.reason}" for t in out.trials if not t.ok]
    assert out.summary["trials_done"] == 3
    assert out.summary["ok"], failed
    assert out.summary["probe"]["plan"]["uncovered"] == []  # every path carried flows both ways
