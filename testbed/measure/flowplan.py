"""Flow plan: choose the probe ports so that every equal-cost path carries flows, both ways.

ECMP hashes each flow's 5-tuple onto one next hop. With four flows picked blindly, all four
land on the same one of two active-active tunnels one time in eight (per direction), and a
trial that fails that tunnel then measures nothing. Linux's hash is a function of the 5-tuple
and a seed fixed for the boot, so which port goes where is stable for a run (as long as the
number of next hops is): a short pre-flight sends a few packets on many candidate ports, reads
back which path each took in each direction (``testbed.measure.pathmark``), and :func:`choose` keeps
the fewest ports that cover every path seen, then fills up to F flows keeping paths balanced.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from testbed.measure import pathmark
from testbed.measure.probepair import probes
from testbed.measure.records import load_meta, load_records

if TYPE_CHECKING:
    from testbed.runtime.net import Network

FIRST_PORT = pathmark.PROBE_PORTS[0]
CANDIDATES = 64      # a path with an equal share is missed by all 64 with odds 2**-63 (2-way)
MAX_FLOWS = 256      # twice as many candidates stay inside the ports the path marks match
PREFLIGHT_PPS = 50.0
PREFLIGHT_S = 0.5

# (direction "a->b", path) pairs a port's flow took
Cover = frozenset[tuple[str, str]]


@dataclass
class FlowPlan:
    ports: list[int]
    paths: dict[int, dict[str, str | None]] = field(default_factory=dict)  # port -> direction -> path
    uncovered: list[str] = field(default_factory=list)                      # "a->b via path"

    def to_dict(self) -> dict:
        return {"ports": self.ports, "paths": {str(p): self.paths.get(p, {}) for p in self.ports},
                "uncovered": self.uncovered}


def default_ports(flows: int) -> list[int]:
    return [FIRST_PORT + i for i in range(flows)]


def choose(seen: Mapping[int, Mapping[str, str | None]], flows: int) -> FlowPlan:
    """Pure: from the path each candidate port took per direction, the ``flows`` ports that
    cover the most (direction, path) pairs (greedy set cover, lowest port on ties), then the
    ports whose pairs are least used so far. Ports that lost every packet are not chosen."""
    cover: dict[int, Cover] = {p: frozenset((d, path) for d, path in dirs.items() if path)
                               for p, dirs in sorted(seen.items())}
    cover = {p: c for p, c in cover.items() if c}
    wanted = set().union(*cover.values()) if cover else set()
    chosen: list[int] = []
    used: dict[tuple[str, str], int] = {}
    while len(chosen) < min(flows, len(cover)):
        left = [p for p in cover if p not in chosen]
        missing = wanted - used.keys()
        best = max(left, key=lambda p: (len(cover[p] & missing), -sum(used.get(x, 0) for x in cover[p]), -p))
        chosen.append(best)
        for x in cover[best]:
            used[x] = used.get(x, 0) + 1
    uncovered = sorted(f"{d} via {path}" for d, path in wanted - used.keys())
    return FlowPlan(sorted(chosen), {p: dict(seen[p]) for p in chosen}, uncovered)


def preflight(net: "Network", ends: tuple[str, str], workdir: Path,
              candidates: int = CANDIDATES) -> dict[int, dict[str, str | None]]:
    """Send a few packets on each candidate port, both ways; the path each port took."""
    ports = default_ports(candidates)
    points = pathmark.mark_points(net.topo)
    a, b = ends
    workdir.mkdir(parents=True, exist_ok=True)
    with probes(net, ends, workdir, ports, PREFLIGHT_PPS) as files:
        time.sleep(PREFLIGHT_S)
    seen: dict[int, dict[str, str | None]] = {p: {} for p in ports}
    for sender, receiver in ((a, b), (b, a)):
        recs = load_records(str(files[receiver]))
        t0 = load_meta(str(files[sender]) + ".json")["schedule"]["t0_ns"]
        by_flow = pathmark.flow_paths(recs, pathmark.names(points), {"all": (t0, 2**63 - 1)})
        for i, port in enumerate(ports):
            seen[port][f"{sender}->{receiver}"] = by_flow.get(i, {}).get("all")
    return seen


def plan(net: "Network", ends: tuple[str, str], workdir: Path, flows: int) -> FlowPlan:
    """The plan for a run; the consecutive ports when not one pre-flight packet arrived."""
    chosen = choose(preflight(net, ends, workdir, max(CANDIDATES, 2 * flows)), flows)
    if not chosen.ports:
        return FlowPlan(default_ports(flows), uncovered=["no pre-flight packet arrived: ports not planned"])
    return chosen
