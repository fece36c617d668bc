"""A failover test a team gates a change on, end to end: one real er-circuit-down trial
(hybrid: the ExpressRoute circuit goes silent, the VPN takes over, traffic fails back) through
``testbed run --junit``, the JUnit file read by a JUnit parser, and ``testbed report --html``
opened in the distribution's Chromium: no console errors, the key elements visible, the
timeline's fault-window zoom working, a screenshot taken."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from junitparser import JUnitXml, Properties

from browser import CHROMIUM, Browser
from testbed.results import store
from testbed.ui import cli

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces, FRR, strongSwan)")]

KEY_ELEMENTS = ("header h1", "section.verdicts table.trials", "section.outages table.stats", "figure.ecdf svg",
                "figure.timeline svg", "figure.timeline button.zoom-fault", "img.network-picture",
                "section.params table.versions")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gating")
    junit = out / "j.xml"
    rc = cli.main(["run", "er-circuit-down", "--trials", "1", "--name", f"hggate{os.getpid() % 10000}",
                   "--out", str(out), "--junit", str(junit)])
    (run_dir,) = store.find_runs(out)
    return rc, run_dir, junit


def test_junit_of_a_real_run(run):
    rc, run_dir, junit = run
    summary = store.load_summary(run_dir)
    assert rc == (0 if summary["ok"] else 1)
    (suite,) = list(JUnitXml.fromfile(str(junit)))
    assert (suite.tests, suite.failures) == (2, 0 if summary["ok"] else 2)
    verdict, trial = list(suite)
    assert verdict.name == "er-circuit-down (all trials)" and trial.name == "er-circuit-down trial 1"
    props = {p.name: p.value for p in trial.child(Properties)}
    assert float(props["outage_ms"]) == summary["trials"][0]["outage_ms"] > 0
    assert {props["h1->vm1 paths during"], props["vm1->h1 paths during"]} <= {"vpn-tunnel0", "vpn-tunnel1",
                                                                            "vpn-tunnel0+vpn-tunnel1"}
    assert {p.name: p.value for p in suite.properties()}["topology"] == "hybrid"


def test_lab_check_junit(tmp_path):
    run, junit = f"hglab{os.getpid() % 10000}", tmp_path / "lab.xml"
    assert cli.main(["lab", "start", "3", "--name", run]) == 0
    try:
        assert cli.main(["lab", "check", "--name", run, "--junit", str(junit)]) == 1  # broken on purpose
    finally:
        assert cli.main(["down", "--name", run]) == 0
    (suite,) = list(JUnitXml.fromfile(str(junit)))
    assert suite.name.startswith("lab 3: ") and suite.tests >= 1 and suite.failures == suite.tests
    assert all(c.result[0].message and "hint: " in c.result[0].text for c in suite)


def test_html_report_in_a_real_browser(run, tmp_path):
    _, run_dir, _ = run
    page = tmp_path / "report.html"
    assert cli.main(["report", str(run_dir), "--html", str(page)]) == 0
    assert CHROMIUM, "no chromium: scripts/setup.sh installs Debian's package"
    with Browser() as b:
        b.open(page.as_uri())
        assert b.evaluate("document.body.dataset.charts") == "drawn"
        assert b.console_errors() == []
        hidden = b.evaluate(f"""{list(KEY_ELEMENTS)!r}.filter(sel => {{
            const e = document.querySelector(sel);
            if (!e) return true;
            const r = e.getBoundingClientRect(), st = getComputedStyle(e);
            return r.width < 10 || r.height < 10 || st.visibility === 'hidden' || st.display === 'none';
        }})""")
        assert hidden == []
        assert b.evaluate("document.querySelector('img.network-picture').naturalWidth") > 100
        assert b.evaluate("document.querySelectorAll('figure.timeline svg').length") == 2  # a chart per direction
        shown = "document.querySelector('figure.timeline svg').dataset.domain.split(',').map(Number)"
        whole = b.evaluate(shown)
        window = b.evaluate("JSON.parse(document.getElementById('chart-data').textContent)[0].timelines[0].window")
        b.evaluate("document.querySelector('figure.timeline button.zoom-fault').click()")
        assert b.evaluate(shown) == pytest.approx(window, abs=0.1)
        assert window[1] - window[0] < (whole[1] - whole[0]) / 2  # zoomed in on the failover
        shot = b.screenshot(tmp_path / "report.png")
        b.evaluate("document.querySelector('figure.timeline svg').dispatchEvent(new MouseEvent('dblclick'))")
        assert b.evaluate(shown) == whole
        assert b.console_errors() == []
    assert shot.stat().st_size > 50_000
    print(f"screenshot of the HTML report (fault window zoomed in trial 1): {shot}")
