"""Chaos: kill -9 at a seeded random moment of `testbed up`, `testbed run` and `testbed lab
start` (the CLI, the holder process a detached run lives in, a daemon), then `testbed clean
NAME`; the host must be as it was and the run must have left nothing.

The moment of each kill is drawn from ``random.Random(SEED + case)`` (``TESTBED_CHAOS_SEED``
picks another draw; a failure names its seed and moment). Only this module's own runs are
cleaned (``testbed clean NAME``), so other runs on the machine stay up; the host-wide parts
(addresses, routes, links, nft, net.* sysctls, mounts) are compared whole, the run's own
leftovers by its name and the namespaces it had (``hostcheck.left_by``).

A daemon case kills the daemon, lets the command notice for a moment, then kills the process
that owns the run: what a crash in the middle of a failure leaves. A run whose owner survived
its killed CLI (a detached holder, up by design) is stopped with `testbed down` first.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import hostcheck
from testbed.daemons.frr import FRR_RUN, instance_name
from testbed.runtime import state
from testbed.system.procs import alive, read_pidfile

# alone: the host's links, routes and nft are compared whole
pytestmark = [pytest.mark.integration, pytest.mark.alone]
REPO = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("TESTBED_CHAOS_SEED", "15"))

# id -> (argv after `testbed`, what to kill, a daemon to kill: node/daemon or node/charon, the window (s));
# a one-trial run takes 8-11 s here: bring-up, flow plan, the trial, teardown
CASES = {
    "up-cli": (["up", "expressroute"], "cli", None, (0.3, 6.0)),
    "up-holder": (["up", "expressroute", "-d"], "holder", None, (0.3, 6.0)),
    "up-daemon": (["up", "expressroute"], "daemon", "ce1/bgpd", (0.5, 6.0)),
    "run-cli": (["run", "er-primary-blackhole", "--trials", "1", "--out", "{tmp}"], "cli", None, (1.0, 7.0)),
    "run-cli-late": (["run", "er-primary-blackhole", "--trials", "1", "--out", "{tmp}"], "cli", None, (5.0, 7.5)),
    "run-daemon": (["run", "er-primary-blackhole", "--trials", "1", "--out", "{tmp}"], "daemon", "msee1/bfdd", (3.0, 6.5)),
    "lab-cli": (["lab", "start", "3"], "cli", None, (0.2, 5.0)),
    "lab-holder": (["lab", "start", "3"], "holder", None, (0.5, 6.0)),
    "lab-daemon": (["lab", "start", "4"], "daemon", "vpn1/charon", (1.0, 7.0)),
}


class Watch(threading.Thread):
    """Polls the run's state file while the command runs: every namespace the run had, its owner."""

    def __init__(self, run: str) -> None:
        super().__init__(daemon=True)
        self.run_name, self.inodes, self.owner = run, set(), None
        self.done = threading.Event()

    def run(self) -> None:  # noqa: D102 - threading's entry point
        while not self.done.is_set():
            st = state.read(self.run_name) or {}
            self.inodes |= set(st.get("netns_inodes", []))
            self.owner = st.get("owner_pid") or self.owner
            time.sleep(0.05)


def daemon_pid(run: str, which: str) -> int | None:
    node, daemon = which.split("/")
    if daemon == "charon":
        found = sorted(state.work_dir(run).glob(f"{node}/*/charon.pid")) if state.work_dir(run).is_dir() else []
        return read_pidfile(found[0]) if found else None
    return read_pidfile(FRR_RUN / instance_name(run, node) / f"{daemon}.pid")


def until(what, within_s: float):
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if (v := what()) is not None:
            return v
        time.sleep(0.05)
    return None


def tb(*argv: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "testbed.ui.cli", *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def kill(pid: int | None) -> None:
    """SIGKILL, and wait until the process is gone (it may have been gone already)."""
    if pid and alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        until(lambda: None if alive(pid) else True, 5)


def cli_of(run: str) -> list[int]:
    """testbed commands of the run still going (not a holder: that one is up by design)."""
    return [pid for pid, (_, cmd, _) in hostcheck._procs().items()
            if "testbed.ui.cli" in cmd and f"--name {run}" in cmd and "_serve" not in cmd]


@pytest.mark.parametrize("case", list(CASES))
def test_kill_then_clean_leaves_the_host_as_it_was(case, tmp_path):
    argv, target, daemon, (lo, hi) = CASES[case]
    run = f"hsc{list(CASES).index(case)}"
    seed = SEED + list(CASES).index(case)
    moment = random.Random(seed).uniform(lo, hi)
    assert tb("clean", run).returncode == 0  # a leftover of an earlier failed attempt must not count
    host_before, pids_before = hostcheck.host(), hostcheck.pids()
    watch = Watch(run)
    watch.start()
    cmd = [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--name", run]
    proc = subprocess.Popen([sys.executable, "-m", "testbed.ui.cli", *cmd], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    where = f"seed {seed}, kill at {moment:.2f} s"
    try:
        try:
            proc.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            pass
        if target == "cli":
            kill(proc.pid)
        elif target == "holder":
            kill(until(lambda: watch.owner if watch.owner and alive(watch.owner) else None, 30))
        else:
            pid = until(lambda: daemon_pid(run, daemon), 30)
            assert pid, f"{daemon} of run {run} never started ({where})"
            kill(pid)
            time.sleep(1.0)
            kill(proc.pid)
            kill(watch.owner)
        proc.wait(timeout=30)
        until(lambda: None if cli_of(run) else True, 60)  # a lab's own `up -d` finishing by itself
        st = state.read(run)
        if st and state.owner_alive(st):  # up by design (a holder that outlived its CLI): down is how it ends
            res = tb("down", "--name", run)
            # or it ended by itself meanwhile (gone, or killed with its network left)
            assert res.returncode == 0 or "is up" in res.stderr or "not up any more" in res.stderr, res.stderr
        res = tb("clean", run)
        assert res.returncode == 0, f"testbed clean {run} failed ({where}): {res.stderr}"
        assert tb("clean", run).stdout.strip() == "nothing to clean", where
    finally:
        watch.done.set()
        kill(proc.pid)
    left = hostcheck.left_by(run, watch.inodes, pids_before)
    for _ in range(3):  # a process of another run's start-up, before its state file: claimed a moment later
        if not left:
            break
        time.sleep(2)
        left = hostcheck.left_by(run, watch.inodes, pids_before)
    assert not left, f"{case} ({where}) left: {left}"
    assert hostcheck.diff(host_before, hostcheck.host()) == [], f"{case} ({where}) changed the host"
