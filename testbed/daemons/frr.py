"""FRR per router node: its own config and run directory, daemons as the ``frr`` user, vtysh JSON.

Each router gets an FRR *instance* (``-N run-node``): sockets and pid files under
``/var/run/frr/<instance>/``; the config lives in the run directory. Daemons are stopped by
their pid files, never by name.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from testbed.errors import TestbedError
from testbed.system.procs import read_pidfile, stop

FRR_BIN = Path("/usr/lib/frr")
FRR_RUN = Path("/var/run/frr")
MARKER = "testbed-run"  # file in an instance directory naming the run that owns it


def instance_name(run: str, node: str) -> str:
    return f"{run}-{node}"


def dry_run(conf: Path) -> None:
    """FRR's own parser checks a config before anything starts (``vtysh --dryrun``)."""
    res = subprocess.run(["vtysh", "--dryrun", "-f", str(conf)], capture_output=True, text=True)
    if res.returncode != 0:
        detail = " ".join((res.stdout + res.stderr).split())[:300]
        raise TestbedError(f"FRR config {conf} does not parse ({detail}): fix that line and try again.")


class FrrRouter:
    """The FRR daemons of one router node."""

    def __init__(self, run: str, name: str, conf: Path, daemons: tuple[str, ...]) -> None:
        self.run = run
        self.name = name
        self.conf = conf
        self.daemons = daemons
        self.instance = instance_name(run, name)
        self.rundir = FRR_RUN / self.instance

    def start(self, node: Any) -> None:
        """Start the daemons inside ``node`` (a mininet Node; ``.cmd()`` runs in its namespaces)."""
        self.launch(node)
        self.wait(node)

    def launch(self, node: Any) -> None:
        """Begin starting the daemons without waiting (``wait`` finishes): routers start in parallel."""
        self.rundir.mkdir(parents=True, exist_ok=True)
        (self.rundir / MARKER).write_text(self.run + "\n")
        shutil.chown(self.rundir, "frr", "frr")
        shutil.chown(self.conf, "frr", "frr")
        shutil.chown(self.conf.parent, "frr", "frr")
        cmds = []
        for d in self.daemons:
            cmds.append(self._command(d))
            if d == "zebra":
                # The other daemons connect to zebra: start it first and wait for its socket.
                cmds.append(f"for i in $(seq 100); do [ -S {self.rundir}/zserv.api ] && break; sleep 0.02; done")
        node.sendCmd("; ".join(cmds))

    def wait(self, node: Any) -> None:
        node.waitOutput()
        missing = [d for d in self.daemons if read_pidfile(self.rundir / f"{d}.pid") is None]
        if missing:
            raise TestbedError(
                f"FRR {', '.join(missing)} did not start on {self.name}: see {self.conf.parent}/frr.log."
            )

    def _command(self, daemon: str) -> str:
        return (f"{FRR_BIN / daemon} -d -N {self.instance} -u frr -g frr -f {self.conf}"
                f" -i {self.rundir / (daemon + '.pid')} >/dev/null 2>&1")

    def start_daemon(self, node: Any, daemon: str) -> int:
        """Start one daemon again (after a crash) with the command line ``start`` used; its pid."""
        pidfile = self.rundir / f"{daemon}.pid"
        pidfile.unlink(missing_ok=True)  # the dead daemon's: wait for the new one's
        node.cmd(self._command(daemon))
        pid = read_pidfile(pidfile)
        if pid is None:
            raise TestbedError(f"FRR {daemon} did not start again on {self.name}: see {self.conf.parent}/frr.log.")
        return pid

    def daemon_pids(self) -> dict[str, int]:
        """Each running daemon's pid, by daemon name (from its pid file)."""
        return {d: p for d in self.daemons if (p := read_pidfile(self.rundir / f"{d}.pid"))}

    def pids(self) -> list[int]:
        return list(self.daemon_pids().values())

    def stop(self) -> None:
        stop(self.pids())
        shutil.rmtree(self.rundir, ignore_errors=True)

    def vtysh(self, *commands: str, timeout: float = 10.0) -> str:
        return vtysh(self.instance, *commands, timeout=timeout)

    def command(self, *commands: str) -> str:
        """Run vtysh commands that must all be accepted (configuration, clears); their output."""
        out = self.vtysh(*commands)
        bad = [line for line in out.splitlines() if line.startswith("%") or "Unknown command" in line]
        if bad:
            raise TestbedError(f"vtysh on {self.name} rejected a command ({bad[0].strip()}): "
                               "this is a testbed bug, please report it.")
        return out

    def apply(self, config: str, timeout: float = 60.0) -> None:
        """Apply configuration lines (as in frr.conf) to the running daemons, in one vtysh call."""
        path = self.conf.parent / "apply.conf"
        path.write_text(config)
        try:
            res = subprocess.run(["vtysh", "-N", self.instance, "-f", str(path)],
                                 capture_output=True, text=True, timeout=timeout)
        finally:
            path.unlink(missing_ok=True)
        if res.returncode != 0:
            raise TestbedError(f"{self.name} rejected the configuration ({res.stdout.strip()[:200]}): fix it.")

    def json(self, command: str) -> Any:
        return vtysh_json(self.instance, command)


class DaemonDown(TestbedError):
    """vtysh could not reach a daemon of the instance: it is not running (killed by a fault)."""


_NOT_RUNNING = re.compile(r"^(\w+ is not running|Exiting: failed to connect to any daemons)", re.M)


def vtysh(instance: str, *commands: str, timeout: float = 10.0) -> str:
    """``commands`` through vtysh; their output. vtysh exits non-zero on a command it rejects
    and on a daemon it cannot reach: both raise (``DaemonDown`` for the second)."""
    args = ["vtysh", "-N", instance]
    for c in commands:
        args += ["-c", c]
    try:
        res = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise TestbedError(f"vtysh on {instance} did not answer within {timeout:.0f} s: is the node up?") from e
    if res.returncode != 0:
        # vtysh also complains on stderr that INSTANCE/vtysh.conf is missing: noise, not the cause
        said = [line.strip() for line in (res.stdout + res.stderr).splitlines()
                if line.strip() and "vtysh.conf" not in line]
        cause = "; ".join(said)[:200] or f"exit code {res.returncode}"
        if _NOT_RUNNING.search(res.stdout + res.stderr):
            raise DaemonDown(f"vtysh on {instance} cannot reach a daemon ({cause}): is the router's daemon running?")
        raise TestbedError(f"vtysh on {instance} rejected {' / '.join(commands)[:120]!r} ({cause}): "
                           "this is a testbed bug, please report it.")
    return res.stdout


def vtysh_json(instance: str, command: str) -> Any:
    """The JSON a ``show ... json`` command prints; anything else raises."""
    out = vtysh(instance, command)
    try:
        return json.loads(out)
    except json.JSONDecodeError as e:
        raise TestbedError(f"vtysh on {instance} answered {command!r} with no JSON "
                           f"({' '.join(out.split())[:120]!r}): this is a testbed bug, please report it.") from e


def leftover_instances(run: str | None = None) -> list[Path]:
    """Instance directories a run left (all testbed runs when ``run`` is None)."""
    found = []
    if FRR_RUN.is_dir():
        for d in FRR_RUN.iterdir():
            marker = d / MARKER
            if marker.is_file() and (run is None or marker.read_text().strip() == run):
                found.append(d)
    return found


def is_frr_daemon(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/exe").startswith(str(FRR_BIN))
    except OSError:
        return False


def reap_instance(d: Path) -> None:
    """Stop the daemons of a leftover instance directory (verified to be FRR) and remove it."""
    pids = [p for f in d.glob("*.pid") if (p := read_pidfile(f)) and is_frr_daemon(p)]
    stop(pids)
    shutil.rmtree(d, ignore_errors=True)
