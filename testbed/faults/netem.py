"""Faults that shape a link's traffic with netem: delay (with jitter), reordering, a rate limit.

netem is a qdisc (``sch_netem``) some kernels lack, this project's development machine among
them: each fault checks for it in the node first and refuses with one sentence where it is
missing. Each acts on one end of a link, on the packets that end sends (egress).
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testbed.errors import TestbedError
from testbed.faults.base import Fault, stamp
from testbed.model.events import Event, now_ns
from testbed.model.topo import Topology

if TYPE_CHECKING:
    from testbed.runtime.net import Network


def netem_available(net: "Network", node: str) -> bool:
    """Whether the kernel has the netem qdisc (tried on the node's loopback, then removed)."""
    ok = net.run_in(node, ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "0ms"],
                    capture_output=True).returncode == 0
    if ok:
        net.run_in(node, ["tc", "qdisc", "del", "dev", "lo", "root"], capture_output=True)
    return ok


@dataclass
class Netem(Fault):
    """A netem qdisc on one link end (``node``'s, else the link's first end)."""

    link: str
    node: str | None = None

    @abstractmethod
    def netem(self) -> list[str]:
        """netem's arguments for this fault (``tc qdisc add ... netem ARGS``); bad figures raise."""

    def describe(self) -> str:
        return f"{self.link}: netem {' '.join(self.netem())}"

    def links(self) -> list[str]:
        return [self.link]

    def _where(self, topo: Topology) -> tuple[str, str]:
        link = topo.link_named(self.link)
        end = link.end(self.node) if self.node else link.a
        return end.node, end.name

    def check(self, topo: Topology) -> None:
        self._where(topo)
        self.netem()

    def inject(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        if not netem_available(net, node):
            raise TestbedError(
                f"this kernel has no netem qdisc (sch_netem), so '{self.describe()}' cannot run here: "
                "use a kernel with CONFIG_NET_SCH_NETEM (scripts/vm.sh runs one), or a fault that "
                "needs no netem (loss and blackholes use nftables).")
        issued = now_ns()
        res = net.run_in(node, ["tc", "qdisc", "add", "dev", ifname, "root", "netem", *self.netem()],
                         capture_output=True, text=True)
        if res.returncode:
            raise TestbedError(f"tc in {node} refused netem {' '.join(self.netem())} "
                               f"({res.stderr.strip()[:200]}): fix the fault's figures.")
        return stamp(node, "inject", self, issued, link=self.link, ifname=ifname)

    def restore(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        issued = now_ns()
        res = net.run_in(node, ["tc", "qdisc", "del", "dev", ifname, "root"], capture_output=True, text=True)
        if res.returncode:
            raise TestbedError(f"tc in {node} could not remove the netem qdisc of {ifname} "
                               f"({res.stderr.strip()[:200]}).")
        return stamp(node, "restore", self, issued, link=self.link, ifname=ifname)


@dataclass
class Delay(Netem):
    """Added latency, with ``jitter_ms`` of variation around it (netem's uniform default)."""

    delay_ms: float = 50
    jitter_ms: float = 0

    def netem(self) -> list[str]:
        if self.delay_ms < 0 or self.jitter_ms < 0:
            raise TestbedError(f"{self.link}: a delay of {self.delay_ms:g} ms and jitter of "
                               f"{self.jitter_ms:g} ms: give figures of 0 or more.")
        args = ["delay", f"{self.delay_ms:g}ms"]
        return args + [f"{self.jitter_ms:g}ms"] if self.jitter_ms else args


@dataclass
class Reorder(Netem):
    """``percent`` of packets sent at once, the others ``delay_ms`` late: those overtake them."""

    percent: float = 25
    delay_ms: float = 10

    def netem(self) -> list[str]:
        if not 0 < self.percent < 100 or self.delay_ms <= 0:
            raise TestbedError(f"{self.link}: reordering wants 0 < percent < 100 and a delay above "
                               f"0 ms (got {self.percent:g} % and {self.delay_ms:g} ms).")
        return ["delay", f"{self.delay_ms:g}ms", "reorder", f"{self.percent:g}%"]


@dataclass
class Rate(Netem):
    """The link end sends at most ``kbit`` kbit/s; what exceeds it queues (up to netem's limit)."""

    kbit: int = 1000

    def netem(self) -> list[str]:
        if self.kbit <= 0:
            raise TestbedError(f"{self.link}: a rate of {self.kbit} kbit/s: give a rate above 0.")
        return ["rate", f"{self.kbit}kbit"]
