"""The run directory and its state file: what a run is, so other commands and ``clean`` find it.

``/run/testbed/<run>/state.json`` holds the owner pid, the topology, each node's shell pid and
network-namespace inode, and the bring-up outcome. It is written atomically.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from testbed.errors import TestbedError
from testbed.system.procs import alive, cmdline

ROOT = Path(os.environ.get("TESTBED_RUNDIR", "/run/testbed"))
# charon bind-mounts its own /run, so what it reads lives outside /run (see testbed.daemons.strongswan).
WORK_ROOT = Path(os.environ.get("TESTBED_WORKDIR", "/var/lib/testbed"))
RUN_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
DEFAULT_RUN = "tb"


def check_run_name(run: str) -> str:
    if not RUN_NAME.match(run):
        raise TestbedError(f"run name {run!r} is not valid: use 1-12 lowercase letters or digits, starting with a letter.")
    return run


def run_dir(run: str) -> Path:
    return ROOT / run


def work_dir(run: str) -> Path:
    return WORK_ROOT / run


def state_path(run: str) -> Path:
    return run_dir(run) / "state.json"


def write(run: str, state: dict[str, Any]) -> None:
    path = state_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    os.replace(tmp, path)


def read(run: str) -> dict[str, Any] | None:
    try:
        return json.loads(state_path(run).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def owner_alive(state: dict[str, Any]) -> bool:
    pid = state.get("owner_pid")
    return bool(pid) and alive(pid) and "testbed" in cmdline(pid)


_SCRATCH = re.compile(r"^testbed-([a-z][a-z0-9]{0,11})-scratch-(\d+)-")


def make_scratch(run: str) -> Path:
    """A new temporary directory for run ``run`` (a lab's starting configs, until 'up' has read
    them), named with the run and this process's pid: 'testbed clean' removes one whose process
    was killed."""
    return Path(tempfile.mkdtemp(prefix=f"testbed-{check_run_name(run)}-scratch-{os.getpid()}-"))


def scratch_dirs(run: str | None = None) -> list[tuple[str, int, Path]]:
    """The scratch directories there are (of ``run`` only, if given): run, pid, path."""
    found = []
    for d in Path(tempfile.gettempdir()).glob("testbed-*-scratch-*"):
        m = _SCRATCH.match(d.name)
        if m and d.is_dir() and run in (None, m.group(1)):
            found.append((m.group(1), int(m.group(2)), d))
    return found


def runs() -> list[str]:
    if not ROOT.is_dir():
        return []
    return sorted(d.name for d in ROOT.iterdir() if d.is_dir())


def require_running(run: str, start: str = "testbed up TOPOLOGY -d") -> dict[str, Any]:
    """The state of a live run, or a clear error saying how to ``start`` one."""
    st = read(run)
    if st and not owner_alive(st):
        raise TestbedError(f"testbed run {run!r} is not up any more (its process was killed) but left its "
                           f"network behind: remove it with 'testbed clean {run}'.")
    if not st:
        live = [r for r in runs() if (s := read(r)) and owner_alive(s)]
        hint = f" (running: {', '.join(live)}; pick one with --name)" if live else ""
        raise TestbedError(f"no testbed run named {run!r} is up{hint}: start one with '{start}'.")
    return st


def lock(run: str) -> int | None:
    """Take the run's lock (held by its owner for its lifetime; a killed owner frees it).

    Returns the lock's file descriptor, or None when another live process holds it.
    """
    ROOT.mkdir(parents=True, exist_ok=True)
    fd = os.open(ROOT / f".{run}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def unlock(run: str, fd: int) -> None:
    try:
        os.unlink(ROOT / f".{run}.lock")
    except FileNotFoundError:
        pass
    os.close(fd)
