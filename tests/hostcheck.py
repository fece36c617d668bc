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
