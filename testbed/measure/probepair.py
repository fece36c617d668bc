"""The probe pair: one ``testbed.measure.probe`` process in each end node, both sending to the other,
started on a common t0 so both directions are measured over the same time."""
from __future__ import annotations

import select
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from testbed.errors import TestbedError
from testbed.model.events import now_ns
from testbed.system.procs import stop_process

if TYPE_CHECKING:
    from testbed.runtime.net import Network

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
    start_at = now_ns() + 300_000_000
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
