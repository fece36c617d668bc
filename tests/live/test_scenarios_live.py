"""Every scenario, 3 trials each, against real FRR and strongSwan: each must meet its own
expectation (the claim its file states), and leave the host as it found it."""
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


@pytest.mark.parametrize("name", [n for n in scenario.names() if n not in IN_DETAIL])
def test_every_scenario_meets_its_expectation(name, tmp_path):
    run_name = f"scall{os.getpid() % 10000}"
    # shorter lead and validation windows than a user's run: the suite must stay quick
    opts = runner.Options(trials=3, out=tmp_path, progress=False, run_name=run_name,
                          lead_s=0.5, validate_s=0.5, overrides=SUITE_SETS.get(name, {}),
                          network=SUITE_NETWORKS.get(name))
    out = runner.run(scenario.load(name), opts)
    failed = [f"trial {t.index}: {t.error or t.reason}" for t in out.trials if not t.ok]
    assert out.summary["trials_done"] == 3
    assert out.summary["ok"], failed
    assert out.summary["probe"]["plan"]["uncovered"] == []  # every path carried flows both ways
