"""The probe pair: one ``testbed.measure.probe`` process in each end node, both sending to the other,
started on a common t0 so both directions are measured over the same time; ``Delivery`` tells,
while they run, which flows have delivered traffic since an instant (the runner's windows end
on it)."""
from __future__ import annotations

import select
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from testbed.errors import TestbedError
from testbed.measure.records import Tail
from testbed.model.events import now_ns
from testbed.system.procs import stop_process

if TYPE_CHECKING:
    from testbed.runtime.net import Network

#: how long the probes wait before their common t0 (two interpreters start meanwhile)
START_S = 0.15

def _readline(proc: subprocess.Popen, timeout_s: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline().decode() if ready else ""
    if not line:
        raise TestbedError(f"a probe (pid {proc.pid}) did not start: see its .err file next to the trial.")
    return line.strip()


@contextmanager
def probes(net: Network, ends: tuple[str, str], workdir: Path, ports: list[int], rate: float) -> Iterator[dict[str, Path]]:
    """A probe in each end node, both sending to the other (a flow per port), started
    together; yields the record file of each end and stops them (SIGTERM) on exit."""
    a, b = ends
    addr = {a: net.topo.address(a), b: net.topo.address(b)}
    start_at = now_ns() + int(START_S * 1e9)
    files = {n: Path(workdir).resolve() / f"{n}.bin" for n in ends}  # a probe may not share our cwd
    procs: list[subprocess.Popen] = []
    try:
        for me, peer in ((a, b), (b, a)):
            with open(workdir / f"{me}.err", "wb") as err:
                procs.append(net.nodes[me].popen(
                    [sys.executable, "-m", "testbed.measure.probe", "--peer", addr[peer], "--out", str(files[me]),
                     "--ports", ",".join(map(str, ports)), "--rate", str(rate), "--start-at-ns", str(start_at)],
                    stdout=subprocess.PIPE, stderr=err))
        for p in procs:
            _readline(p, 10.0)
        time.sleep(max(0.0, (start_at - now_ns()) / 1e9))
        yield files
    finally:
        for p in procs:
            stop_process(p)


class Delivery:
    """The latest send stamp each flow has delivered in each direction, read live from the
    receivers' record files: ``missing_since(t)`` names the flows with nothing sent at or
    after ``t`` delivered yet (empty: traffic flows everywhere)."""

    def __init__(self, ends: tuple[str, str], files: dict[str, Path], flows: int) -> None:
        a, b = ends
        self.tails = {f"{a}->{b}": Tail(str(files[b])), f"{b}->{a}": Tail(str(files[a]))}
        self.latest = {d: [-1] * flows for d in self.tails}

    def missing_since(self, t_ns: int) -> list[str]:
        for direction, tail in self.tails.items():
            recs, latest = tail.read(), self.latest[direction]
            for flow, sent in zip(recs.flow, recs.send_ns):
                if flow < len(latest) and sent > latest[flow]:
                    latest[flow] = sent
        return [f"{d} flow {i}: nothing sent since then delivered yet"
                for d, latest in self.latest.items() for i, sent in enumerate(latest) if sent < t_ns]
