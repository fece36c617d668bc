"""An active-standby gateway fails over (docs/azure.md#active-standby).

The active instance goes: its links lose carrier and what it knew is gone (its IKE SAs, its
BGP sessions), as with a VM that is powered off or reimaged. ``delay_s`` after that the
standby, a twin with the same addresses (``testbed.azure.standby``), brings its links up and
initiates the tunnel, as Azure's new active instance does; the on-prem device keeps the
tunnel's addresses and sees its IKE SA replaced and, at its next BGP message, its session
reset. Restore swaps back at once, so that the next trial starts from the same instance
(Azure itself leaves the former standby active).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testbed.errors import TestbedError
from testbed.faults.base import Fault, stamp
from testbed.faults.link import set_links
from testbed.model.events import Event, now_ns
from testbed.model.topo import Topology

if TYPE_CHECKING:
    from testbed.runtime.net import Network


def _ends(topo: Topology, node: str) -> list[tuple[str, str]]:
    """Both ends of every link of ``node``, its own end first."""
    return [(e.node, e.name) for link in topo.links_of(node)
            for e in sorted((link.a, link.b), key=lambda e: e.node != node)]


def swap(net: "Network", off: str, on: str, delay_s: float) -> tuple[int, int, int]:
    """Instance ``off`` goes down and forgets; ``delay_s`` after it was issued, ``on`` comes up
    and initiates its tunnels. Returns when ``off`` was issued and went down, and when ``on``
    was up."""
    issued, stamps = set_links(net, _ends(net.topo, off), up=False)
    assert net.tunnels is not None
    for charon in net.tunnels.served_by(off):
        charon.terminate_ike(timeout=0.2)          # the links are down: no DELETE gets out
    net.frr[off].command("clear bgp *")
    time.sleep(max(0.0, delay_s - (now_ns() - issued) / 1e9))
    _, up = set_links(net, _ends(net.topo, on), up=True)
    for charon in net.tunnels.served_by(on):
        charon.initiate()
    return issued, stamps[0], up[-1]


@dataclass
class Takeover(Fault):
    """The ``standby`` instance takes over from ``active`` after ``delay_s`` (``why``: planned
    maintenance or an unplanned failure)."""

    active: str
    standby: str
    delay_s: float
    why: str = "planned maintenance"
    labels: tuple[str, ...] = ()      # the links of both instances (pcaps are taken there)

    @classmethod
    def of(cls, topo: Topology, active: str, delay_s: float, why: str) -> "Takeover":
        """The takeover of ``active`` by its standby, or one sentence saying it has none."""
        standby = next((r.name for r in topo.routers.values() if r.standby_for == active), None)
        if standby is None:
            raise TestbedError(f"{active} has no standby instance in {topo.name}: run it on an active-standby "
                               "VPN gateway (networks/vpn-active-standby.yaml, or vpngw.instances=1).")
        labels = tuple(link.label for node in (active, standby) for link in topo.links_of(node))
        return cls(active, standby, delay_s, why, labels)

    def describe(self) -> str:
        return f"{self.active} goes ({self.why}): {self.standby} takes over after {self.delay_s:g} s"

    def links(self) -> list[str]:
        return list(self.labels)

    def check(self, topo: Topology) -> None:
        if topo.routers.get(self.standby) is None or topo.routers[self.standby].standby_for != self.active:
            raise TestbedError(f"{self.standby} is not the standby of {self.active} in {topo.name}: "
                               "build the fault with Takeover.of().")

    def inject(self, net: "Network") -> Event:
        issued, down, up = swap(net, self.active, self.standby, self.delay_s)
        self.steps = [Event(up, "fault", self.standby, "takeover", {"what": f"{self.standby} up, initiating"})]
        return stamp(self.active, "inject", self, issued, t_ns=down)

    def restore(self, net: "Network") -> Event:
        issued, _, up = swap(net, self.standby, self.active, 0.0)
        return stamp(self.active, "restore", self, issued, t_ns=up)
