"""BGP faults: sessions shut down or reset, and advertisements changed (leaks, prepends,
more-specifics), through the router's own vtysh."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testbed.errors import TestbedError
from testbed.faults.base import Fault, stamp
from testbed.model.events import Event, now_ns
from testbed.model.topo import Topology

if TYPE_CHECKING:
    from testbed.runtime.net import Network


# --- BGP session faults ----------------------------------------------------------------------
def _bgp_af(net: "Network", router: str, *lines: str) -> tuple[str, ...]:
    return ("conf t", f"router bgp {net.topo.routers[router].asn}", "address-family ipv4 unicast", *lines, "end")


@dataclass
class SessionShutdown(Fault):
    """``neighbor X shutdown`` on one router for the session labelled ``label`` (a Cease
    NOTIFICATION: the peer drops the session at once)."""

    router: str
    label: str

    def describe(self) -> str:
        return f"{self.router}: BGP session {self.label} shut down"

    def check(self, topo: Topology) -> None:
        topo.neighbor(self.router, self.label)

    def _apply(self, net: "Network", kind: str, no: str) -> Event:
        n = net.topo.neighbor(self.router, self.label)
        issued = now_ns()
        net.frr[self.router].command("conf t", f"router bgp {net.topo.routers[self.router].asn}",
              f"{no}neighbor {n.addr} shutdown", "end")
        return stamp(self.router, kind, self, issued, neighbor=n.addr, session=self.label)

    def inject(self, net: "Network") -> Event:
        return self._apply(net, "inject", "")

    def restore(self, net: "Network") -> Event:
        return self._apply(net, "restore", "no ")


@dataclass
class SessionReset(Fault):
    """``clear bgp`` of one session (a hard reset); it comes back by itself."""

    router: str
    label: str

    def __post_init__(self) -> None:
        self.settle = "baseline"

    def describe(self) -> str:
        return f"{self.router}: BGP session {self.label} reset (clear bgp)"

    def check(self, topo: Topology) -> None:
        topo.neighbor(self.router, self.label)

    def inject(self, net: "Network") -> Event:
        n = net.topo.neighbor(self.router, self.label)
        issued = now_ns()
        net.frr[self.router].command(f"clear bgp ipv4 unicast {n.addr}")
        return stamp(self.router, "inject", self, issued, neighbor=n.addr, session=self.label)

    def restore(self, net: "Network") -> Event:
        return stamp(self.router, "restore", self, now_ns(), note="nothing to undo")


# --- advertisement faults --------------------------------------------------------------------
@dataclass
class PrefixFlood(Fault):
    """``router`` originates ``count`` /24s from ``pool`` (a leak: static blackholes plus
    network statements). Past the MSEE's prefix limit the MSEE drops the session; withdrawing
    them lets it come back."""

    router: str
    count: int
    pool: str = "10.128.0.0/9"

    def describe(self) -> str:
        return f"{self.router}: leaks {self.count} /24 prefixes from {self.pool}"

    def prefixes(self) -> list[str]:
        nets = ipaddress.IPv4Network(self.pool).subnets(new_prefix=24)
        out = [str(n) for _, n in zip(range(self.count), nets)]
        if len(out) < self.count:
            raise TestbedError(f"{self.pool} holds only {len(out)} /24s, not {self.count}: pick a larger pool.")
        return out

    def config(self, asn: int, withdraw: bool = False) -> list[str]:
        """The vtysh -f lines that add (or remove) the leak (pure, for tests)."""
        no = "no " if withdraw else ""
        pfx = self.prefixes()
        return ([f"{no}ip route {p} blackhole" for p in pfx]
                + [f"router bgp {asn}", " address-family ipv4 unicast"]
                + [f"  {no}network {p}" for p in pfx] + [" exit-address-family"])

    def check(self, topo: Topology) -> None:
        topo.router_named(self.router)

    def _apply(self, net: "Network", kind: str, withdraw: bool) -> Event:
        issued = now_ns()
        net.frr[self.router].apply("\n".join(self.config(net.topo.routers[self.router].asn, withdraw)) + "\n", timeout=300)
        return stamp(self.router, kind, self, issued, count=self.count, pool=self.pool)

    def inject(self, net: "Network") -> Event:
        return self._apply(net, "inject", withdraw=False)

    def restore(self, net: "Network") -> Event:
        return self._apply(net, "restore", withdraw=True)


@dataclass
class AsPathPrepend(Fault):
    """``router`` prepends its own AS ``times`` times toward the peer of session ``label``
    (Azure's maintenance drain: the MSEE about to be serviced makes its link less preferred),
    applied with a soft outbound refresh."""

    router: str
    label: str
    times: int = 3
    route_map: str = "TB-PREPEND"

    def describe(self) -> str:
        return f"{self.router}: prepends its AS x{self.times} on {self.label}"

    def check(self, topo: Topology) -> None:
        n = topo.neighbor(self.router, self.label)
        if n.route_map_out:
            raise TestbedError(f"{self.router} already has route-map {n.route_map_out} out on {self.label}: "
                               "the prepend fault would replace it.")

    def inject(self, net: "Network") -> Event:
        n = net.topo.neighbor(self.router, self.label)
        asn = net.topo.routers[self.router].asn
        issued = now_ns()
        net.frr[self.router].command("conf t", f"route-map {self.route_map} permit 10",
              f"set as-path prepend {' '.join([str(asn)] * self.times)}", "exit",
              *_bgp_af(net, self.router, f"neighbor {n.addr} route-map {self.route_map} out")[1:],
              f"clear bgp ipv4 unicast {n.addr} soft out")
        return stamp(self.router, "inject", self, issued, neighbor=n.addr, session=self.label)

    def restore(self, net: "Network") -> Event:
        n = net.topo.neighbor(self.router, self.label)
        issued = now_ns()
        net.frr[self.router].command(*_bgp_af(net, self.router, f"no neighbor {n.addr} route-map {self.route_map} out"),
              f"clear bgp ipv4 unicast {n.addr} soft out", "conf t", f"no route-map {self.route_map}", "end")
        return stamp(self.router, "restore", self, issued, neighbor=n.addr, session=self.label)


@dataclass
class MoreSpecific(Fault):
    """``router`` advertises ``prefix`` (a more-specific of someone's range) by a network
    statement alone (``no bgp network import-check``: no route is installed, so the router
    still forwards by the covering route)."""

    router: str
    prefix: str

    def __post_init__(self) -> None:
        # Nothing the baseline watches changes (only a /24 appears on the Azure side): hold
        # the leak long enough to see where each direction's traffic goes.
        self.settle, self.hold_s = "hold", 3.0

    def describe(self) -> str:
        return f"{self.router}: advertises more-specific {self.prefix}"

    def check(self, topo: Topology) -> None:
        topo.router_named(self.router)
        ipaddress.IPv4Network(self.prefix)

    def _apply(self, net: "Network", kind: str, no: str) -> Event:
        issued = now_ns()
        net.frr[self.router].command(*_bgp_af(net, self.router, f"{no}network {self.prefix}"))
        return stamp(self.router, kind, self, issued, prefix=self.prefix)

    def inject(self, net: "Network") -> Event:
        return self._apply(net, "inject", "")

    def restore(self, net: "Network") -> Event:
        return self._apply(net, "restore", "no ")
