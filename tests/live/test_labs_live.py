"""Training labs: every lab is well formed, every check fails on its starting state and passes
after ``testbed lab solve`` (real FRR and strongSwan, driven through the CLI as a trainer would).

One lab is up at a time: the whole file takes about two to three minutes.
"""
import json
import subprocess
import sys
import time

import pytest

from testbed.labs import lab as labs
from testbed.observe.checks import eventually

TESTBED = [sys.executable, "-m", "testbed.ui.cli"]
RUN = "labtest"
SETTLE_S = 2      # lab start waits for the broken network to settle; a little more, to be sure
SOLVED_S = 60     # BGP after the fix; lab 6 also wants its sessions up for 10 s


def tb(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*TESTBED, *args], capture_output=True, text=True, timeout=timeout)


# --- every check fails at the start and passes after solve (root, real daemons) ---------------
def check(run: str) -> dict:
    res = tb("lab", "check", "--json", "--name", run)
    out = json.loads(res.stdout)
    assert res.returncode == (0 if out["ok"] else 1), res.stderr
    return out


@pytest.mark.integration
@pytest.mark.parametrize("name", labs.names())
def test_checks_fail_at_start_and_pass_after_solve(name):
    t0 = time.monotonic()
    started = tb("lab", "start", name, "--name", RUN)
    assert started.returncode == 0, started.stderr
    try:
        assert "testbed lab check --name labtest" in started.stdout
        time.sleep(SETTLE_S)
        at_start = check(RUN)
        passing = [t["title"] for t in at_start["tasks"] if t["ok"]]
        assert not passing, f"{name}: these checks pass on the starting state: {passing}"
        assert all(t["problems"] and t["hint"] for t in at_start["tasks"])

        solved = tb("lab", "solve", "--name", RUN)
        assert solved.returncode == 0, solved.stderr

        def still_failing() -> list[str]:
            return [f"{t['title']}: {t['problems']}" for t in check(RUN)["tasks"] if not t["ok"]]
        took = eventually(still_failing, within=SOLVED_S, interval=1.0, what=f"{name} after solve")
        print(f"{name}: {len(at_start['tasks'])} checks failed at start, all passed {took:.1f} s after solve "
              f"({time.monotonic() - t0:.0f} s in all)")
    finally:
        down = tb("down", "--name", RUN)
    assert down.returncode == 0, down.stderr


@pytest.mark.integration
def test_reset_brings_back_the_starting_state():
    assert tb("lab", "start", "1", "--name", RUN).returncode == 0
    try:
        assert tb("lab", "solve", "--name", RUN).returncode == 0
        eventually(lambda: [] if check(RUN)["ok"] else ["not solved yet"], within=SOLVED_S, interval=1.0)
        reset = tb("lab", "reset", "--name", RUN)
        assert reset.returncode == 0, reset.stderr
        time.sleep(SETTLE_S)
        assert not any(t["ok"] for t in check(RUN)["tasks"])
    finally:
        tb("down", "--name", RUN)


@pytest.mark.integration
def test_lab_commands_need_a_lab():
    res = tb("lab", "check", "--name", "labnone")
    assert res.returncode == 1
    assert res.stderr.strip().startswith("testbed: no testbed run named 'labnone' is up")
