"""Daemon faults: an FRR daemon killed, and started again."""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testbed.errors import TestbedError
from testbed.faults.base import Fault, stamp
from testbed.model.events import Event, now_ns
from testbed.model.topo import Topology
from testbed.system.procs import alive, read_pidfile

if TYPE_CHECKING:
    from testbed.runtime.net import Network


# --- daemon faults ---------------------------------------------------------------------------
@dataclass
class DaemonKill(Fault):
    """SIGKILL one FRR daemon of a router (found by its pid file); restore starts it again
    with the command line FRR was started with."""

    router: str
    daemon: str = "bgpd"

    def describe(self) -> str:
        return f"{self.router}: {self.daemon} killed (SIGKILL)"

    def check(self, topo: Topology) -> None:
        topo.router_named(self.router)
        if self.daemon not in topo.routers[self.router].daemons:
            raise TestbedError(f"{self.router} runs no {self.daemon}: choose one of "
                               f"{', '.join(topo.routers[self.router].daemons)}.")

    def inject(self, net: "Network") -> Event:
        pid = read_pidfile(net.frr[self.router].rundir / f"{self.daemon}.pid")
        if pid is None or not alive(pid):
            raise TestbedError(f"{self.daemon} is not running on {self.router}: the baseline is broken.")
        issued = now_ns()
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.0005)
        return stamp(self.router, "inject", self, issued, pid=pid)

    def restore(self, net: "Network") -> Event:
        issued = now_ns()
        pid = net.frr[self.router].start_daemon(net.nodes[self.router], self.daemon)
        return stamp(self.router, "restore", self, issued, pid=pid)
