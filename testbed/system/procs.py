"""Processes, by pid only: what ``/proc`` says about them (state, command line, environment,
CPU time, memory, start time, namespace) and about the machine's memory and load, pid files,
stopping the processes we started, and finding processes inside our namespaces."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- what /proc says --------------------------------------------------------------------------
def _stat(pid: int) -> list[str]:
    """Fields of ``/proc/PID/stat`` after the command name (field 3 onwards: state is [0])."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def environ(pid: int) -> dict[str, str]:
    """The environment the process started with (empty if it is gone or not ours to read)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return {}
    return dict(e.partition("=")[::2] for e in raw.split("\0") if e)


def cpu_s(pid: int) -> float:
    """CPU time used so far, user plus system (utime + stime), in seconds (1/CLK_TCK steps)."""
    f = _stat(pid)
    return (int(f[11]) + int(f[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    """Resident set size (VmRSS) in MiB; shared pages count in every process that maps them."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0  # a kernel thread or a zombie


def open_fds(pid: int) -> int:
    """How many file descriptors the process has open (entries of ``/proc/PID/fd``)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def started_monotonic(pid: int) -> float:
    """When the process started, on CLOCK_MONOTONIC (the testbed's clock), to 1/CLK_TCK.

    ``starttime`` counts from boot (CLOCK_BOOTTIME); the two clocks differ by any time the
    machine spent suspended, measured here.
    """
    offset = time.clock_gettime(time.CLOCK_BOOTTIME) - time.monotonic()
    return int(_stat(pid)[19]) / CLK_TCK - offset


def meminfo_mib(key: str) -> float:
    """One ``/proc/meminfo`` line (``MemTotal``, ``MemAvailable``) in MiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name == key:
            return int(rest.split()[0]) / 1024
    raise KeyError(key)


def load_1min() -> float:
    return round(os.getloadavg()[0], 2)


# --- namespaces, pid files, stopping ------------------------------------------------------
def netns_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def pids_in_netns(inodes: set[int]) -> list[int]:
    """Every process whose network namespace is one of ``inodes`` (our nodes' namespaces)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and netns_inode(int(entry)) in inodes:
            found.append(int(entry))
    return found


def read_pidfile(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop(pids: list[int], timeout: float = 3.0) -> list[int]:
    """SIGTERM, then SIGKILL whatever is left after ``timeout``; returns pids that were killed hard."""
    pids = [p for p in pids if p != os.getpid() and alive(p)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.02)
    hard = [p for p in pids if alive(p)]
    for p in hard:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(alive(p) for p in hard):
        time.sleep(0.02)
    return hard


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    """Stop a process we started, by its pid (SIGKILL if it does not go), and close its pipes."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass
    for f in (proc.stdin, proc.stdout, proc.stderr):
        if f:
            f.close()
