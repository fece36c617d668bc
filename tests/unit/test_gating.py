"""Gating a change on the results: JUnit XML read back by a JUnit parser, the --fail-on rules
and the noise test, the HTML page's content. Against two runs recorded on this machine
(tests/data/runs/README.md): er-primary-blackhole at BFD 100 ms and at 300 ms, 5 trials each."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Properties

from testbed.errors import TestbedError
from testbed.labs.lab import Lab, Result, Task, junit_suite
from testbed.results import gate, html, junit, store
from testbed.ui import cli

RUNS = Path(__file__).parent.parent / "data" / "runs"
BFD100, BFD300 = (next((RUNS / r / "er-primary-blackhole").iterdir()) for r in ("bfd100", "bfd300"))


@pytest.fixture(scope="module")
def fast():
    return store.load_summary(BFD100)


@pytest.fixture(scope="module")
def slow():
    return store.load_summary(BFD300)


def _case_properties(case) -> dict[str, str]:
    props = case.child(Properties)  # pytest's record_property writes them there too
    return {p.name: p.value for p in props} if props is not None else {}


# --- JUnit ---------------------------------------------------------------------------------------
def test_a_run_reads_back_through_a_junit_parser(tmp_path, fast, slow):
    path = junit.write(tmp_path / "j.xml", [junit.run_suite(slow), junit.run_suite(fast)])
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert [s.name for s in suites] == [f"er-primary-blackhole {slow['started_utc']}",
                                        f"er-primary-blackhole {fast['started_utc']}"]
    assert [(s.tests, s.failures) for s in suites] == [(6, 0), (6, 2)]  # verdict + 5 trials
    cases = list(suites[1])
    assert [c.name for c in cases] == ["er-primary-blackhole (all trials)"] + \
        [f"er-primary-blackhole trial {n}" for n in range(1, 6)]
    failed = {c.name: c.result[0] for c in cases if c.result}
    assert set(failed) == {"er-primary-blackhole (all trials)", "er-primary-blackhole trial 4"}
    assert all(isinstance(r, Failure) for r in failed.values())
    assert failed["er-primary-blackhole trial 4"].message == \
        "outage 402 ms OUTSIDE (200, 400] ms (BFD 100 ms x 3 + 100 ms reaction)"
    assert failed["er-primary-blackhole (all trials)"].message == "1 of 5 trials failed"
    trial4 = _case_properties(cases[4])
    assert float(trial4["outage_ms"]) == pytest.approx(401.777) and trial4["h1->vm1 paths during"] == "er-secondary"
    assert float(_case_properties(cases[0])["outage_ms_p95"]) == fast["stats"]["outage_ms"]["p95"]
    suite_props = {p.name: p.value for p in suites[1].properties()}
    assert suite_props["param bfd.interval_ms"] == "100" and suite_props["version frr"].startswith("zebra version 8")


def test_a_lab_check_is_a_suite_of_its_tasks(tmp_path):
    lab = Lab("BFD", "expressroute", [Task("BFD up", lambda net: [], "add bfd"),
                                      Task("timers", lambda net: [], "use 300 ms")], dir=Path("03-bfd"))
    results = [Result(lab.tasks[0], []), Result(lab.tasks[1], ["ce1: BFD at 1000 ms", "ce2: BFD at 1000 ms"])]
    xml = JUnitXml.fromfile(str(junit.write(tmp_path / "lab.xml", [junit_suite(lab, results)])))
    (suite,) = list(xml)
    assert suite.name == "lab 3: BFD" and (suite.tests, suite.failures) == (2, 1)
    ok, bad = list(suite)
    assert not ok.result and bad.result[0].message == "ce1: BFD at 1000 ms; ce2: BFD at 1000 ms"
    assert "hint: use 300 ms" in bad.result[0].text


# --- the gate ------------------------------------------------------------------------------------
def test_rules_parse_and_bad_ones_are_refused():
    rules = gate.parse(["p95+20%,max+100ms", "failback.p50+5ms", "verdict"])
    assert [(t.metric, t.stat, t.amount, t.unit) for t in rules.thresholds] == \
        [("outage_ms", "p95", 20, "%"), ("outage_ms", "max", 100, "ms"), ("restore_outage_ms", "p50", 5, "ms")]
    assert rules.verdict and not rules.path
    assert rules.thresholds[0].allowed(400) == 480 and rules.thresholds[1].allowed(400) == 500
    for bad in ("p99+20%", "p95-20%", "p95+20", "verdicts"):
        with pytest.raises(TestbedError, match="is not a rule"):
            gate.parse([bad])


def test_slower_bfd_breaches_p95_and_the_reverse_passes(fast, slow):
    rules = gate.parse(["p95+20%"])
    (line,) = gate.breaches(slow, fast, rules)
    assert line.startswith("er-primary-blackhole: outage p95 960 ms > baseline 393 ms p95+20% = 472 ms")
    assert "beyond the noise" in line
    assert gate.breaches(fast, slow, rules) == []
    assert gate.breaches(slow, fast, gate.parse(["p95+200%"])) == []   # 144 % more: allowed
    assert gate.breaches(slow, fast, gate.parse(["max+600ms"])) == []  # 560 ms more: allowed


def test_verdict_and_path_rules(fast, slow):
    assert gate.breaches(fast, slow, gate.parse(["verdict"])) == \
        ["er-primary-blackhole: verdict changed from pass to fail (trial 4 failed)"]
    assert gate.breaches(slow, fast, gate.parse(["verdict"])) == []   # fail -> pass is no breach
    assert gate.breaches(slow, fast, gate.parse(["path"])) == []
    moved = copy.deepcopy(slow)
    moved["trials"][2]["h1->vm1 paths during"] = "vpn-tunnel0"
    assert gate.breaches(moved, fast, gate.parse(["path"])) == \
        ["er-primary-blackhole: h1->vm1 paths during changed: er-secondary -> er-secondary | vpn-tunnel0"]


def test_noise(fast, slow):
    assert gate.noise(slow, fast).startswith("beyond the noise of the two samples: Mann-Whitney U p=0.008")
    shuffled = copy.deepcopy(fast)
    shuffled["trials"] = shuffled["trials"][::-1][:4]
    assert gate.noise(shuffled, fast).startswith("within the noise")
    assert gate.noise(slow, fast, "restore_outage_ms") == "the same in every trial"
    assert gate.noise({"trials": fast["trials"][:1]}, fast).startswith("too few trials")


def test_report_exits_1_on_a_breach_and_0_reversed(capsys):
    assert cli.main(["report", str(BFD300), "--baseline", str(BFD100), "--fail-on", "p95+20%"]) == 1
    out = capsys.readouterr().out
    breach = [line for line in out.splitlines() if line.startswith("breach: ")]
    assert len(breach) == 1 and "outage p95 960 ms > baseline 393 ms" in breach[0]
    assert "gate: 1 breach of --fail-on p95+20%" in out
    assert cli.main(["report", str(BFD100), "--baseline", str(BFD300), "--fail-on", "p95+20%"]) == 0
    assert "gate: passed --fail-on p95+20%" in capsys.readouterr().out
    assert cli.main(["report", str(BFD100), "--fail-on", "p95+20%"]) == 1  # no baseline: refused
    assert "--fail-on compares against a baseline" in capsys.readouterr().err


# --- the HTML page -------------------------------------------------------------------------------
def test_page_is_self_contained_and_carries_both_runs(fast, slow):
    page = html.page([html.RunPage(slow, [], fast, gate.breaches(slow, fast, gate.parse(["p95+20%"])),
                                   b"\x89PNG fake", "")])
    assert "<script src" not in page and "<link" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")
    assert "data:image/png;base64," in page and 'class="breaches"' in page
    assert "zebra version 8.4.4" in page and "bfd.interval_ms=300" in page
    data = json.loads(page.split('<script id="chart-data" type="application/json">')[1].split("</script>")[0])
    names = [s["name"] for s in data[0]["ecdf"]]
    assert names == ["this run: outage", "this run: failback", "baseline: outage", "baseline: failback"]
    assert data[0]["ecdf"][0]["xs"] == sorted(r["outage_ms"] for r in slow["trials"])
