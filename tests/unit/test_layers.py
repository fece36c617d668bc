"""The pipeline's layering is a contract (import-linter, pyproject.toml): an upward import fails."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess:
    # the checked tree comes first on the path, ahead of the installed package
    return subprocess.run([str(LINT), "--no-cache", "--config", str(root / "pyproject.toml")], cwd=root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_imports_run_only_downward():
    res = lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "testbed", tmp_path / "testbed", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    topo = tmp_path / "testbed" / "model" / "topo.py"
    topo.write_text(topo.read_text() + "\nfrom testbed.trials import runner  # noqa: E402,F401\n")
    res = lint(tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "testbed.model is not allowed to import testbed.trials" in res.stdout
