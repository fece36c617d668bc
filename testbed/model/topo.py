"""A declarative model of a topology: routers, hosts, links, BGP sessions, expectations.

Pure data, no root needed: a topology module builds one of these from params, the renderer
turns routers into FRR configs and ``net`` turns the whole thing into Mininet nodes.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Protocol

from testbed.errors import TestbedError
from testbed.model.addressing import Pool
from testbed.model.params import Params

IFNAME_MAX = 15  # Linux IFNAMSIZ - 1


@dataclass
class Interface:
    node: str
    name: str
    addr: ipaddress.IPv4Interface | None
    mtu: int | None = None


@dataclass
class Link:
    """A point-to-point veth link; ``label`` names the path it is for users (``er-primary``)."""

    a: Interface
    b: Interface
    label: str
    #: a standby instance's link: both ends stay down until the standby takes over
    standby: bool = False

    def end(self, node: str) -> Interface:
        return self.a if self.a.node == node else self.b

    def other(self, node: str) -> Interface:
        return self.b if self.a.node == node else self.a


@dataclass
class BfdProfile:
    name: str
    interval_ms: int
    multiplier: int


@dataclass
class Neighbor:
    """One side of a BGP session, as configured on the router that owns it."""

    addr: str
    remote_as: int
    peer: str                      # the peer's node name
    label: str                     # what the session is for users ("er-primary")
    keepalive_s: int = 60
    hold_s: int = 180
    bfd: BfdProfile | None = None
    next_hop_self: bool = False
    remove_private_as: bool = False
    route_map_in: str | None = None
    route_map_out: str | None = None
    max_prefix: int | None = None
    multihop: int | None = None
    update_source: str | None = None
    passive: bool = False
    weight: int | None = None
    ttl_security_hops: int | None = None
    password: str | None = None            # the TCP MD5 key of the session
    rr_client: bool = False                # a route-reflector client of this router
    next_hop_self_force: bool = False      # next-hop-self on reflected routes too


@dataclass
class RouteMap:
    """``lines`` are the ``set``/``match`` lines of one permit entry; routes to a prefix in
    ``deny`` (or inside one) are dropped first."""

    name: str
    lines: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)


@dataclass
class Router:
    name: str
    asn: int
    router_id: str
    role: str                                   # "onprem" or "azure"
    networks: list[str] = field(default_factory=list)
    statics: list[tuple[str, str]] = field(default_factory=list)   # (prefix, nexthop|"blackhole")
    neighbors: list[Neighbor] = field(default_factory=list)
    route_maps: list[RouteMap] = field(default_factory=list)
    maximum_paths: int = 1
    daemons: tuple[str, ...] = ("zebra", "staticd", "bgpd", "bfdd")
    loopbacks: list[str] = field(default_factory=list)          # addresses on lo, with prefix length
    #: the active instance whose addresses and sessions this standby instance takes over
    standby_for: str | None = None

    def bfd_profiles(self) -> list[BfdProfile]:
        seen: dict[str, BfdProfile] = {}
        for n in self.neighbors:
            if n.bfd:
                seen.setdefault(n.bfd.name, n.bfd)
        return list(seen.values())


@dataclass
class Host:
    name: str
    role: str
    gateway: str | None = None


@dataclass
class Tunnel:
    """A route-based IPsec tunnel between an on-prem VPN device and an Azure gateway instance.

    Each end has an outer ("public") address and an inner BGP address put on its TUN device as
    a /32; FRR routes the peer's /32 through the TUN device (Azure: "a /32 host route to the
    Azure BGP peer address through the tunnel").
    """

    label: str                 # "vpn-tunnel0"
    onprem: str                # node names
    azure: str
    onprem_outer: str
    azure_outer: str
    onprem_inner: str
    azure_inner: str
    onprem_tun: str            # ipsecN: kernel-libipsec names TUN devices in creation order
    azure_tun: str
    onprem_ports: tuple[int, int] = (500, 4500)   # a second charon in one node needs its own
    #: the gateway's standby instance, which serves this tunnel once it has taken over
    standby: str | None = None


@dataclass
class FibExpectation:
    """``node`` must have ``prefix`` in its kernel FIB with at least ``nexthops`` next hops,
    and, when ``via`` names them, over exactly those links or tunnels (the baseline path: a
    hybrid whose VNet still routes on-prem over the VPN has a route, but not the right one)."""

    node: str
    prefix: str
    nexthops: int = 1
    via: tuple[str, ...] = ()

    def problem(self, via: list[str]) -> str | None:
        """What is wrong with the prefix going over ``via`` (labels of its next hops), or None."""
        if len(via) < self.nexthops:
            return f"has {len(via)} next hop(s) in the kernel FIB, want {self.nexthops}"
        if self.via and sorted(via) != sorted(self.via):
            return f"goes via {', '.join(sorted(via))}, want {', '.join(sorted(self.via))}"
        return None


class Behaviour(Protocol):
    """Something the emulated side does by itself while a run is up (the MSEE retrying a
    session it dropped for the prefix limit): the running network calls ``step(net)`` every
    ``interval_s`` in a thread of its own; an exception ends it and is reported."""

    name: str
    interval_s: float

    def step(self, net: Any) -> None: ...


@dataclass
class Topology:
    name: str
    params: Params
    routers: dict[str, Router] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    fib: list[FibExpectation] = field(default_factory=list)
    reach: list[tuple[str, str]] = field(default_factory=list)   # (host, destination address)
    tunnels: list[Tunnel] = field(default_factory=list)
    # converged only once no router's FIB has changed for this long (0: the expectations say
    # it all); for a user's configs, whose paths the testbed cannot know beforehand
    quiet_s: float = 0.0
    behaviours: list[Behaviour] = field(default_factory=list)
    # the paths probe traffic is attributed to (link or tunnel label -> DSCP mark), declared
    # by the builders in order: testbed.measure.pathmark marks them at their on-prem end
    paths: dict[str, int] = field(default_factory=dict)
    endpoints: tuple[str, ...] = ()                 # the probe pair (on-prem first), if any
    # the user's own FRR configs a network file names (router -> file), run as written
    configs: dict[str, Path] = field(default_factory=dict)
    # ExpressRoute circuits: name -> the labels of its links, the one on-prem prefers first
    circuits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # ExpressRoute gateways: name -> the routers of its instances (ergw0, ergw1)
    er_gateways: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    # what the topology was built from: a catalog name or a network file's path (a running
    # run is rebuilt from it)
    origin: str = ""
    _ifcount: dict[str, int] = field(default_factory=dict)

    # --- building ---
    def router(self, name: str, asn: int, role: str, router_id: str, **kw) -> Router:
        r = Router(name=name, asn=asn, role=role, router_id=router_id, **kw)
        self.routers[name] = r
        return r

    def path(self, label: str) -> int:
        """Declare the link or tunnel ``label`` a path whose traffic is told apart; its DSCP mark."""
        if label not in self.paths:
            used = set(self.paths.values())
            free = [d for d in (*range(10, 64, 10), *range(1, 64)) if d not in used]
            if not free:
                raise TestbedError(f"{self.name} declares more than 63 paths: DSCP has no mark left.")
            self.paths[label] = free[0]
        return self.paths[label]

    def host(self, name: str, role: str) -> Host:
        h = Host(name=name, role=role)
        self.hosts[name] = h
        return h

    def _ifname(self, node: str) -> str:
        n = self._ifcount.get(node, 0)
        self._ifcount[node] = n + 1
        name = f"{node}-eth{n}"
        if len(name) > IFNAME_MAX:
            raise ValueError(f"interface name {name} is longer than {IFNAME_MAX} characters")
        return name

    def link(self, a: str, b: str, subnet: ipaddress.IPv4Network | str, label: str,
             a_host: int = 1, b_host: int = 2, mtu: int | None = None,
             names: tuple[str | None, str | None] = (None, None),
             addrs: tuple[ipaddress.IPv4Interface | None, ipaddress.IPv4Interface | None] = (None, None),
             standby: bool = False) -> Link:
        """Join ``a`` and ``b``; ``a`` takes the subnet's ``a_host``-th address, ``b`` the
        ``b_host``-th, unless ``addrs`` gives them; ``names`` overrides the interface names."""
        net = ipaddress.IPv4Network(subnet)
        ia = addrs[0] or ipaddress.IPv4Interface(f"{net.network_address + a_host}/{net.prefixlen}")
        ib = addrs[1] or ipaddress.IPv4Interface(f"{net.network_address + b_host}/{net.prefixlen}")
        link = Link(Interface(a, names[0] or self._ifname(a), ia, mtu),
                    Interface(b, names[1] or self._ifname(b), ib, mtu), label, standby)
        self.links.append(link)
        return link

    def ebgp(self, link: Link, label: str, a_opts: dict | None = None, b_opts: dict | None = None) -> None:
        """A BGP session over a link's two addresses (eBGP or iBGP, by the routers' ASNs).

        An iBGP one gets GTSM with one hop: FRR's fast-external-failover then drops it the
        moment the link loses carrier, as it does an eBGP one. Without it the session outlives
        a gateway instance's power-off, and when the link returns the VNet re-installs the
        instance's stale routes and blackholes their flows until TCP retransmits the withdraw."""
        if self.routers[link.a.node].asn == self.routers[link.b.node].asn:
            a_opts, b_opts = {"ttl_security_hops": 1, **(a_opts or {})}, {"ttl_security_hops": 1, **(b_opts or {})}
        self.session(link.a.node, str(link.a.addr.ip), link.b.node, str(link.b.addr.ip), label, a_opts, b_opts)

    def session(self, a: str, a_addr: str, b: str, b_addr: str, label: str,
                a_opts: dict | None = None, b_opts: dict | None = None) -> None:
        """A BGP session between two routers' addresses (``a`` configures ``b_addr`` and back)."""
        ra, rb = self.routers[a], self.routers[b]
        ra.neighbors.append(Neighbor(addr=b_addr, remote_as=rb.asn, peer=b, label=label, **(a_opts or {})))
        rb.neighbors.append(Neighbor(addr=a_addr, remote_as=ra.asn, peer=a, label=label, **(b_opts or {})))

    # --- reading ---
    def nodes(self) -> list[str]:
        return [*self.routers, *self.hosts]

    def interfaces(self, node: str) -> Iterator[Interface]:
        for link in self.links:
            for end in (link.a, link.b):
                if end.node == node:
                    yield end

    def links_of(self, node: str) -> list[Link]:
        return [link for link in self.links if node in (link.a.node, link.b.node)]

    def link_by_label(self, label: str) -> Link:
        for link in self.links:
            if link.label == label:
                return link
        raise KeyError(label)

    def link_named(self, label: str) -> Link:
        """The link labelled ``label``, or an error naming the labels there are."""
        try:
            return self.link_by_label(label)
        except KeyError:
            raise TestbedError(f"{self.name} has no link labelled {label!r}: choose one of "
                               f"{', '.join(l.label for l in self.links)}.") from None

    def circuit_named(self, index: int, needs: str) -> tuple[str, tuple[str, ...]]:
        """The ``index``-th circuit by on-prem preference (0: the preferred one), or one sentence
        saying ``needs`` (a scenario) needs more circuits than the network has."""
        if index >= len(self.circuits):
            have = f"has {len(self.circuits)}" if self.circuits else "has none"
            raise TestbedError(f"{needs} needs {index + 1} ExpressRoute circuit(s) but {self.name} {have}: "
                               "run it on a network with more (networks/hybrid.yaml, networks/two-circuits-hub-spoke.yaml).")
        name = list(self.circuits)[index]
        return name, self.circuits[name]

    def tunnel_named(self, label: str) -> "Tunnel":
        """The VPN tunnel labelled ``label``, or an error naming the tunnels there are."""
        for t in self.tunnels:
            if t.label == label:
                return t
        raise TestbedError(f"{self.name} has no tunnel {label!r}: choose one of "
                           f"{', '.join(t.label for t in self.tunnels) or 'none (no VPN)'}.")

    def router_named(self, name: str) -> Router:
        if name not in self.routers:
            raise TestbedError(f"{name!r} is not a router of {self.name}: choose one of {', '.join(self.routers)}.")
        return self.routers[name]

    def neighbor(self, router: str, label: str) -> Neighbor:
        """The neighbor entry of ``router`` for the session labelled ``label``."""
        for n in self.router_named(router).neighbors:
            if n.label == label:
                return n
        raise TestbedError(f"{router} has no BGP session labelled {label!r}: choose one of "
                           f"{', '.join(n.label for n in self.routers[router].neighbors)}.")

    def sessions(self) -> Iterator[tuple[Router, Neighbor]]:
        for r in self.routers.values():
            for n in r.neighbors:
                yield r, n

    def hops(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(node, interface or TUN device) -> (label of the link or tunnel it leads over, the
        node at its far end)."""
        out = {}
        for link in self.links:
            out[(link.a.node, link.a.name)] = (link.label, link.b.node)
            out[(link.b.node, link.b.name)] = (link.label, link.a.node)
        for t in self.tunnels:
            out[(t.onprem, t.onprem_tun)] = (t.label, t.azure)
            out[(t.azure, t.azure_tun)] = (t.label, t.onprem)
            if t.standby:
                out[(t.standby, t.azure_tun)] = (t.label, t.onprem)
        return out

    def hop_labels(self) -> dict[tuple[str, str], str]:
        """(node, interface or TUN device) -> the label of the link or tunnel it leads over."""
        return {k: label for k, (label, _) in self.hops().items()}

    def hop_names(self, node: str, nexthops: Iterable[Mapping[str, Any]]) -> list[str]:
        """The label of the link or tunnel each of ``node``'s kernel next hops leaves over (the
        interface name for one the topology does not know), in the next hops' order."""
        labels = self.hop_labels()
        return [labels.get((node, h["ifname"]), h["ifname"]) for h in nexthops]

    def address(self, node: str, index: int = 0) -> str:
        return str(list(self.interfaces(node))[index].addr.ip)
