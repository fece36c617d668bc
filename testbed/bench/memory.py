"""Memory per router node: the resident set of its FRR daemons, and of its charons (one per
tunnel end) on VPN nodes. RSS counts shared pages (libfrr, libc) in every process, so the sum
over nodes overstates what the machine loses; ``MemAvailable`` before and after shows that."""
from __future__ import annotations

from typing import Any

from testbed.bench.series import Series
from testbed.runtime.net import Network
from testbed.system.procs import read_pidfile, rss_mib


def node_memory(net: Network) -> dict[str, dict[str, float]]:
    """``{node: {daemon: MiB, ..., "total": MiB}}`` for every router (charons as ``charon``)."""
    out: dict[str, dict[str, float]] = {}
    for name, frr in net.frr.items():
        row = {d: rss_mib(pid) for d in frr.daemons if (pid := read_pidfile(frr.rundir / f"{d}.pid"))}
        out[name] = row
    for on, az in (net.tunnels.ends.values() if net.tunnels else []):
        for charon in (on, az):
            if charon.pid:
                row = out.setdefault(charon.node.name, {})
                row["charon"] = row.get("charon", 0.0) + rss_mib(charon.pid)
    for row in out.values():
        row["total"] = sum(row.values())
    return {n: {k: round(v, 2) for k, v in row.items()} for n, row in out.items()}


class MemoryFigures:
    """Memory per node collected over repetitions; ``to_dict`` gives per node and per daemon."""

    def __init__(self) -> None:
        self.nodes: dict[str, Series] = {}
        self.daemons: dict[str, Series] = {}

    def add(self, net: Network) -> None:
        for node, row in node_memory(net).items():
            self.nodes.setdefault(node, Series("MiB")).add(row["total"])
            for daemon, mib in row.items():
                if daemon != "total":
                    self.daemons.setdefault(daemon, Series("MiB")).add(mib)

    def to_dict(self) -> dict[str, Any]:
        every = Series("MiB")
        for s in self.nodes.values():
            for v, load in zip(s.values, s.loads):
                every.add(v, load)
        return {"router_node_mib": every.to_dict(),
                "per_node_mib": {n: s.to_dict() for n, s in self.nodes.items()},
                "per_daemon_mib": {d: s.to_dict() for d, s in self.daemons.items()}}
