"""Link faults: carrier loss and flaps, over netlink."""
from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testbed.errors import TestbedError
from testbed.faults.base import Fault, stamp
from testbed.model.events import Event, now_ns
from testbed.model.topo import Topology
from testbed.system import kernel

if TYPE_CHECKING:
    from testbed.runtime.net import Network


def set_links(net: "Network", ends: list[tuple[str, str]], up: bool) -> tuple[int, list[int]]:
    """``ip link set dev IFNAME up|down`` on each (node, ifname) in turn, over netlink; returns
    the instant the first was issued and the instant each was acknowledged (applied). The
    sockets are opened beforehand, so the changes follow each other within microseconds."""
    with ExitStack() as stack:
        targets = []
        for node, ifname in ends:
            ipr = stack.enter_context(kernel.netlink(net.pid(node)))
            idx = ipr.link_lookup(ifname=ifname)
            if not idx:
                raise TestbedError(f"{node} has no interface {ifname}: is the topology up?")
            targets.append((ipr, idx[0]))
        issued, stamps = now_ns(), []
        for ipr, idx in targets:
            ipr.link("set", index=idx, state="up" if up else "down")
            stamps.append(now_ns())
        return issued, stamps


# --- link faults -----------------------------------------------------------------------------
@dataclass
class LinkDown(Fault):
    """Carrier loss: both ends of a link administratively down (the kernel flushes its nexthops
    and FRR's fast-external-failover drops the eBGP session: no timer involved)."""

    link: str

    def describe(self) -> str:
        return f"{self.link}: carrier down (both ends)"

    def links(self) -> list[str]:
        return [self.link]

    def check(self, topo: Topology) -> None:
        topo.link_named(self.link)

    def _set(self, net: "Network", up: bool) -> tuple[int, list[int]]:
        link = net.topo.link_named(self.link)
        return set_links(net, [(link.a.node, link.a.name), (link.b.node, link.b.name)], up)

    def inject(self, net: "Network") -> Event:
        # Traffic stops when the first end goes down (its peer loses carrier with it).
        issued, (first, second) = self._set(net, up=False)
        return stamp(net.topo.link_named(self.link).a.node, "inject", self, issued, t_ns=first,
                      link=self.link, second_end_ns=second)

    def restore(self, net: "Network") -> Event:
        # Carrier returns when the second end comes up.
        issued, _ = self._set(net, up=True)
        return stamp(net.topo.link_named(self.link).b.node, "restore", self, issued, link=self.link)


@dataclass
class LinkFlap(Fault):
    """``cycles`` carrier losses: down for half the ``period_s``, up for the other half."""

    link: str
    cycles: int = 3
    period_s: float = 2.0

    def __post_init__(self) -> None:
        if self.cycles < 1 or self.period_s <= 0:
            raise TestbedError("a flap needs at least one cycle and a positive period: fix the scenario.")
        self.settle = "baseline"  # the flap ends with the link up

    def describe(self) -> str:
        return f"{self.link}: {self.cycles} flaps, {self.period_s:g} s period"

    def links(self) -> list[str]:
        return [self.link]

    def check(self, topo: Topology) -> None:
        topo.link_named(self.link)

    def inject(self, net: "Network") -> Event:
        down, self.steps = LinkDown(self.link), []
        issued = now_ns()
        for i in range(self.cycles):
            ev = down.inject(net)
            self.steps.append(Event(ev.t_ns, "fault", ev.node, "flap-down", {"cycle": i + 1}))
            time.sleep(self.period_s / 2)
            ev = down.restore(net)
            self.steps.append(Event(ev.t_ns, "fault", ev.node, "flap-up", {"cycle": i + 1}))
            if i + 1 < self.cycles:
                time.sleep(self.period_s / 2)
        first = self.steps[0]
        return stamp(first.node, "inject", self, issued, t_ns=first.t_ns, link=self.link)

    def restore(self, net: "Network") -> Event:
        """The flap left the link up: make sure of it (idempotent) and stamp."""
        issued, _ = LinkDown(self.link)._set(net, up=True)
        return stamp(net.topo.link_named(self.link).b.node, "restore", self, issued, link=self.link)
