"""A run's scratch directories (testbed.runtime.state.make_scratch): named so that 'testbed
clean' removes the ones a killed process left, and only those."""
import os
import subprocess
import sys

from testbed.runtime import clean, state


def test_clean_removes_the_scratch_of_a_dead_process_and_keeps_a_live_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(state, "ROOT", tmp_path / "run")
    monkeypatch.setattr(state, "WORK_ROOT", tmp_path / "work")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    live = state.make_scratch("lab1")
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout.strip()
    dead = tmp_path / f"testbed-lab1-scratch-{dead_pid}-x1y2"
    dead.mkdir()
    other = state.make_scratch("lab2")
    assert {(r, p) for r, p, _ in state.scratch_dirs()} == {("lab1", os.getpid()), ("lab1", int(dead_pid)),
                                                            ("lab2", os.getpid())}
    assert f"removed {dead}" in clean.clean_run("lab1")
    assert live.is_dir() and other.is_dir() and not dead.exists()
