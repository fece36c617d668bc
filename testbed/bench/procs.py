"""What ``/proc`` says about a process and the machine, for the benchmarks: CPU time, resident
memory, when a process started, and how much memory is left."""
from __future__ import annotations

import os
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """Fields of ``/proc/PID/stat`` after the command name (field 3 onwards: state is [0])."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


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
