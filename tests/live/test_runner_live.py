"""The runner: its settle logic on a fake network (no root), then whole scenarios (root, FRR)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testbed.trials import runner, scenario

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


@pytest.mark.integration
@live
def test_scenarios_of_one_network_share_a_bring_up_and_others_get_their_own(tmp_path):
    """``testbed run A B C``: er-link-flap and msee-maintenance run on one expressroute
    bring-up; er-primary-blackhole-no-bfd (other parameters) on its own; results in order."""
    names = ["er-link-flap", "er-primary-blackhole-no-bfd", "msee-maintenance"]
    opts = runner.Options(trials=1, out=tmp_path, progress=False, run_name=f"scens{os.getpid() % 10000}")
    outs = runner.run_all([scenario.load(n) for n in names], opts)
    assert [o.summary["scenario"] for o in outs] == names
    assert all(o.summary["trials_done"] == 1 for o in outs), [o.notes for o in outs]
    assert outs[0].notes[0].startswith("converged in") and outs[1].notes[0].startswith("converged in")
    assert "on the network brought up for er-link-flap" in outs[2].notes
    assert all((o.dir / "trials" / "001.png").is_file() for o in outs)
