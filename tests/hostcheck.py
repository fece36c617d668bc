"""A snapshot of what the testbed must never change on the host, and what it must never leave."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

SYSCTLS = [
    "net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter",
    "net.ipv4.fib_multipath_hash_policy", "net.ipv4.conf.all.ignore_routes_with_linkdown",
    "net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6",
]


def _run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True).stdout


def _our_processes() -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{entry}/exe")
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if exe.startswith("/usr/lib/frr/") or exe.endswith("/charon") or "mininet:" in cmd \
                or "testbed.measure.probe" in cmd or "testbed.ui.cli _serve" in cmd:
            found.append(f"{entry} {cmd.strip()}")
    return sorted(found)


def snapshot() -> dict[str, object]:
    return {
        "addresses": _run("ip", "-br", "addr"),
        "routes": _run("ip", "route", "show", "table", "all"),
        "rules": _run("ip", "rule"),
        "links": _run("ip", "-br", "link"),
        "netns": _run("ip", "netns", "list"),
        "nft": _run("nft", "list", "ruleset"),
        "sysctls": {k: Path("/proc/sys/" + k.replace(".", "/")).read_text().strip() for k in SYSCTLS},
        "mounts": sorted(line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()),
        "processes": _our_processes(),
        "run_dirs": sorted(p.name for p in Path("/run/testbed").glob("*")) if Path("/run/testbed").exists() else [],
        "frr_instances": sorted(p.name for p in Path("/var/run/frr").glob("*")) if Path("/var/run/frr").exists() else [],
    }


def diff(before: dict, after: dict) -> list[str]:
    return [f"{k}: {before[k]!r} -> {after[k]!r}" for k in before if before[k] != after[k]]


# --- one run's view, for tests that share the machine with other runs (tests/live/test_chaos_live.py)
NET_SYSCTL_DIRS = ["net/ipv4", "net/ipv4/conf/all", "net/ipv4/conf/default", "net/ipv6/conf/all",
                   "net/ipv6/conf/default", "net/core"]


def net_sysctls() -> dict[str, str]:
    """Every readable net.* value of the directories above (the host's own, not a node's)."""
    out = {}
    for d in NET_SYSCTL_DIRS:
        for p in sorted(Path("/proc/sys", d).iterdir()):
            if p.is_file():
                try:
                    out[str(p.relative_to("/proc/sys")).replace("/", ".")] = p.read_text().strip()
                except OSError:  # write-only (flush) or not ours to read
                    continue
    return out


def host() -> dict[str, object]:
    """What no run may change on the host: addresses, routes, rules, links, named namespaces,
    the nft ruleset, the net.* sysctls and the mounts."""
    whole = snapshot()
    return {**{k: whole[k] for k in ("addresses", "routes", "rules", "links", "netns", "nft", "mounts")},
            "sysctls": net_sysctls()}


def _procs() -> dict[int, tuple[str, str, int | None]]:
    """pid -> (executable, command line, network namespace inode) of every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                exe = os.readlink(f"/proc/{entry}/exe")
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                ino = os.stat(f"/proc/{entry}/ns/net").st_ino
            except OSError:
                continue
            found[int(entry)] = (exe, cmd, ino)
    return found


def _claimed_inodes() -> set[int]:
    """The namespaces some run's state file names (other runs' included)."""
    from testbed.runtime import state
    return {i for r in state.runs() for i in (state.read(r) or {}).get("netns_inodes", [])}


def left_by(run: str, inodes: set[int], before: set[int]) -> list[str]:
    """What run ``run`` left: its processes (FRR daemons of its instances, its charons, testbed
    commands naming it, anything in the namespaces ``inodes`` it had), processes in a namespace
    no run claims that were not there ``before`` (pids), and its files and directories."""
    from testbed.daemons.frr import FRR_RUN
    from testbed.runtime import state
    from testbed.system.procs import environ
    host_ns = os.stat("/proc/self/ns/net").st_ino
    work = str(state.work_dir(run))
    claimed = _claimed_inodes()
    inodes = inodes - claimed  # the run's namespaces are gone: their inode numbers may be another run's now
    left = []
    for pid, (exe, cmd, ino) in sorted(_procs().items()):
        if pid == os.getpid():
            continue
        conf = environ(pid).get("STRONGSWAN_CONF", "") if exe.endswith("/charon") else ""
        if (f" -N {run}-" in cmd or ino in inodes or conf.startswith(work + "/")
                or ("testbed.ui.cli" in cmd and f"--name {run}" in cmd)):
            left.append(f"process {pid} {cmd[:120]}")
        elif ino != host_ns and ino not in claimed and pid not in before:
            left.append(f"process {pid} in an unclaimed namespace: {cmd[:120]}")
    left += [f"file {p}" for p in (state.run_dir(run), state.work_dir(run), state.ROOT / f".{run}.lock") if p.exists()]
    left += [f"FRR instance {p}" for p in FRR_RUN.glob(f"{run}-*")] if FRR_RUN.is_dir() else []
    left += [f"file {p}" for _, _, p in state.scratch_dirs(run)]
    return left


def pids() -> set[int]:
    return set(_procs())
