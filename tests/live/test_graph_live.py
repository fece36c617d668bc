"""testbed graph: the layered layout, the text and the PNG; and a running run's live states."""
import subprocess
import sys

import pytest

TESTBED = [sys.executable, "-m", "testbed.ui.cli"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TESTBED, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.integration
def test_cli_draws_a_running_run_with_its_session_states(tmp_path):
    up = tb("up", "expressroute", "-d", "--name", "labgraph")
    assert up.returncode == 0, up.stderr
    try:
        png = tmp_path / "live.png"
        res = tb("graph", "--run", "labgraph", "--png", str(png))
        assert res.returncode == 0, res.stderr
        sessions = [l for l in res.stdout.splitlines() if "BGP" in l and ("<->" in l)]
        assert sessions and all(l.endswith("[Established]") for l in sessions), res.stdout
        assert png.read_bytes()[:8] == PNG_MAGIC
    finally:
        assert tb("down", "--name", "labgraph").returncode == 0
