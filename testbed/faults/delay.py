"""Added latency with netem, where the kernel has it."""
from __future__ import annotations

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
class Delay(Fault):
    """Added latency on one link end (netem). Needs the netem qdisc, which some kernels lack."""

    link: str
    delay_ms: int = 50
    node: str | None = None

    def describe(self) -> str:
        return f"{self.link}: {self.delay_ms} ms delay (netem)"

    def links(self) -> list[str]:
        return [self.link]

    def _where(self, topo: Topology) -> tuple[str, str]:
        link = topo.link_named(self.link)
        end = link.end(self.node) if self.node else link.a
        return end.node, end.name

    def check(self, topo: Topology) -> None:
        topo.link_named(self.link)

    def inject(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        if not netem_available(net, node):
            raise TestbedError(
                "this kernel has no netem qdisc (sch_netem), so the delay fault cannot run here: "
                "use a kernel with CONFIG_NET_SCH_NETEM, or a fault that needs no netem "
                "(loss and blackholes use nftables).")
        issued = now_ns()
        res = net.run_in(node, ["tc", "qdisc", "add", "dev", ifname, "root", "netem", "delay",
                                f"{self.delay_ms}ms"], capture_output=True, text=True)
        if res.returncode:
            raise TestbedError(f"tc in {node} refused netem ({res.stderr.strip()[:200]}).")
        return stamp(node, "inject", self, issued, link=self.link, ifname=ifname)

    def restore(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        issued = now_ns()
        net.run_in(node, ["tc", "qdisc", "del", "dev", ifname, "root"], capture_output=True)
        return stamp(node, "restore", self, issued, link=self.link, ifname=ifname)
