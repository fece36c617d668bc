"""ExpressRoute as Azure builds it: private peering on two links (primary, secondary), the
Microsoft edge routers (MSEEs), the ExpressRoute gateway's instances (ergw0, ergw1: each peers
with every MSEE of its connections and with the VNet), and the customer's two CEs.

Each number comes from docs/azure.md (private peering, BGP timers, BFD, prefix limits, route
preference); the CE and MSEE interconnects are the testbed's own (docs/azure.md#what-the-testbed-adds).
"""
from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

from testbed.azure.addressing import RouterIds, subnet
from testbed.azure.prefix_limit import PrefixLimitRetry
from testbed.errors import TestbedError
from testbed.model.network.schema import Circuit, ErGateway, NetworkFile
from testbed.model.params import Params, network
from testbed.model.topo import BfdProfile, FibExpectation, RouteMap, Topology


def validate(p: Params) -> None:
    ka, hold = p["onprem.keepalive_s"], p["onprem.hold_s"]
    if ka < p["msee.min_keepalive_s"] or hold < p["msee.min_hold_s"]:
        raise TestbedError(
            f"on-prem BGP timers {ka}/{hold} s are below Azure's minimum "
            f"{p['msee.min_keepalive_s']}/{p['msee.min_hold_s']} s: raise them."
        )
    if hold < 3 * ka:
        raise TestbedError(f"onprem.hold_s {hold} must be at least 3 x onprem.keepalive_s {ka}: raise it.")
    if p["bfd.interval_ms"] < 10 or p["bfd.multiplier"] < 1:
        raise TestbedError("bfd.interval_ms must be >= 10 and bfd.multiplier >= 1: fix the values.")
    if 0 < p["onprem.bfd_interval_ms"] < 10 or p["onprem.bfd_multiplier"] < 0:
        raise TestbedError("onprem.bfd_interval_ms must be 0 (the MSEE's) or >= 10, and onprem.bfd_multiplier "
                           "0 (the MSEE's) or >= 1: fix the values.")
    if not 576 <= p["er.mtu"] <= 1500:
        raise TestbedError(f"er.mtu {p['er.mtu']} must lie in 576-1500 bytes (Azure: 1,400): fix it.")
    peering = network(p, "er.peering_subnet")
    if peering.prefixlen != 29:
        raise TestbedError(f"er.peering_subnet {peering} must be a /29 (Azure splits it into two /30s): fix it.")
    network(p, "msee.backbone")
    if p["ergw.instances"] not in (1, 2):
        raise TestbedError(f"ergw.instances is {p['ergw.instances']!r}: give 2 (Azure's default) or 1.")


def instances(g: ErGateway, p: Params) -> list[str]:
    """The routers of gateway ``g``: its name with an instance index (ergw0, ergw1), as the VPN
    gateway's (docs/azure.md#expressroute-gateway)."""
    return [f"{g.name}{i}" for i in range(p["ergw.instances"])]


def add_gateway(t: Topology, p: Params, g: ErGateway, gateway_subnet: IPv4Network, ids: RouterIds) -> None:
    """The ExpressRoute gateway's instances in its VNet's GatewaySubnet, each with its own link
    and iBGP session to the VNet, which load-shares over them."""
    t.er_gateways[g.name] = tuple(instances(g, p))
    for i, name in enumerate(instances(g, p)):
        t.router(name, asn=p["ergw.asn"], role="azure", router_id=ids.take(f"10.255.1.{2 + i}", "10.255.1.0/24"),
                 maximum_paths=2)
        label = f"{name}-{g.vnet}"
        gw = t.link(name, g.vnet, subnet(t, "vnet.gateway_subnet", label, gateway_subnet), label=label, a_host=2, b_host=1)
        # Azure prefers ExpressRoute over VPN for an identical prefix (weight, see params).
        t.ebgp(gw, label, a_opts={"next_hop_self": True}, b_opts={"weight": p["vnet.er_weight"]})


def bfd_profiles(p: Params) -> tuple[BfdProfile, BfdProfile]:
    """The CE's BFD profile and the MSEE's: each side configures its own, 0 on-prem meaning
    the MSEE's values (docs/azure.md#bfd)."""
    msee = BfdProfile("azure", p["bfd.interval_ms"], p["bfd.multiplier"])
    ce = BfdProfile("azure", p["onprem.bfd_interval_ms"] or msee.interval_ms,
                    p["onprem.bfd_multiplier"] or msee.multiplier)
    return ce, msee


def bfd_negotiated(p: Params) -> tuple[int, tuple[int, int]]:
    """The interval both ends of a private-peering BFD session run at (the slower side's: each
    transmits at the larger of its own interval and its peer's receive interval), and the
    multipliers by which the CE and the MSEE detect a silent peer (each uses the peer's)."""
    ce, msee = bfd_profiles(p)
    return max(ce.interval_ms, msee.interval_ms), (msee.multiplier, ce.multiplier)


def msees(index: int) -> tuple[str, str]:
    """The Microsoft edge routers of the ``index``-th circuit (msee1/msee2 for the first)."""
    return f"msee{2 * index + 1}", f"msee{2 * index + 2}"


def add_circuit(t: Topology, p: Params, c: Circuit, index: int, gw: ErGateway, weight: int,
                ids: RouterIds, md5_key: str | None = None, onprem_md5_key: str | None = None) -> None:
    """The circuit's two links from its edges (on-prem routers already in ``t``) to its two
    MSEEs, and each MSEE's links to every instance of the gateway ``gw`` (the MSEE load-shares
    over them); a connection ``weight`` above 0 makes the gateway prefer this circuit's routes
    (docs/azure.md#route-preference); ``onprem_md5_key``
    is the edges' own key when it differs from the circuit's ``md5_key`` (docs/azure.md#md5)."""
    ce_bfd, msee_bfd = bfd_profiles(p)
    limit = p["msee.prefix_limit_premium"] if c.sku == "premium" or p["er.premium"] else p["msee.prefix_limit"]
    for (leg, end), er_net, msee in zip(c.ends(), c.subnets(p), msees(index)):
        ce = t.routers[end.router]
        # On-prem prefers ExpressRoute by local preference (150 against 100).
        ce.route_maps.append(RouteMap("ER-IN", [f"set local-preference {local_pref(c, p)}"]))
        t.router(msee, asn=p["msee.asn"], role="azure", router_id=ids.take(f"10.255.2.{msee[4:]}", "10.255.2.0/24"),
                 route_maps=[RouteMap("CUSTOMER-IN", ["set community none"])], maximum_paths=2)
        # The private peering: customer .1, Microsoft .2 of each /30.
        link = t.link(ce.name, msee, er_net, label=f"{c.name}-{leg}", names=(end.interface, None))
        t.path(link.label)
        t.ebgp(link, link.label,
               a_opts={"keepalive_s": p["onprem.keepalive_s"], "hold_s": p["onprem.hold_s"], "password": onprem_md5_key or md5_key,
                       "bfd": ce_bfd if p["onprem.bfd"] and c.bfd else None, "route_map_in": "ER-IN"},
               b_opts={"keepalive_s": p["msee.keepalive_s"], "hold_s": p["msee.hold_s"], "password": md5_key,
                       "bfd": msee_bfd if p["bfd.enabled"] else None,
                       # Communities sent by the customer are ignored.
                       "route_map_in": "CUSTOMER-IN",
                       # Over the limit the MSEE drops the session (4,000 / 10,000 with Premium).
                       "max_prefix": limit,
                       # On-prem sees VNet routes with AS path 12076 only (65515 is stripped).
                       "remove_private_as": True})
        for instance in instances(gw, p):
            label = f"{msee}-{instance}"
            # ExpressRoute carries packets up to er.mtu and its gateway takes no fragments, while
            # the customer's interface stays at 1,500 (docs/azure.md#mtu): the limit sits in front
            # of the gateway, so a larger packet with DF set gets "fragmentation needed" back.
            bb = t.link(msee, instance, subnet(t, "msee.backbone", label), label=label, mtu=p["er.mtu"])
            t.ebgp(bb, label,
                   a_opts={"keepalive_s": p["msee.keepalive_s"], "hold_s": p["msee.hold_s"]},
                   b_opts={"keepalive_s": p["ergw.keepalive_s"], "hold_s": p["ergw.hold_s"],
                           **({"weight": weight} if weight else {})})


def add_interconnects(t: Topology, p: Params, c: Circuit, index: int, ce_interconnect: bool) -> None:
    """The circuit's two edges, and its two MSEEs, each joined by a link with iBGP: a router
    that loses its ExpressRoute link keeps forwarding through its twin after its own BGP
    reaction, instead of dropping traffic until the next router upstream has heard the
    withdraw. Edges the file already links are left as they are."""
    a, b = c.primary.router, c.secondary.router
    linked = {frozenset((l.a.node, l.b.node)) for l in t.links}
    if ce_interconnect and frozenset((a, b)) not in linked:
        ce = t.link(a, b, subnet(t, "onprem.links", f"{a}-{b}"), label=f"{a}-{b}")
        t.ebgp(ce, ce.label, a_opts={"next_hop_self": True}, b_opts={"next_hop_self": True})
    if p["er.msee_interconnect"]:
        m1, m2 = msees(index)
        ms = t.link(m1, m2, subnet(t, "msee.backbone", f"{m1}-{m2}"), label=f"{m1}-{m2}")
        t.ebgp(ms, ms.label, a_opts={"next_hop_self": True}, b_opts={"next_hop_self": True})


def add_expressroute(t: Topology, p: Params, net: NetworkFile, ids: RouterIds, keys: dict[str, str],
                     onprem_key: str | None = None) -> None:
    """Every gateway, circuit and interconnect of the file's ExpressRoute section; ``keys``:
    circuit name -> its MD5 key; ``onprem_key``: the edges' own key, if they have one."""
    er = net.expressroute
    assert er is not None
    vnets = {v.name: v for v in net.vnets}
    for g in er.gateways:
        add_gateway(t, p, g, vnets[g.vnet].gw_subnet(p), ids)
    index = {c.name: i for i, c in enumerate(er.circuits)}
    for g in er.gateways:
        for x in g.connections:
            c = er.circuits[index[x.circuit]]
            add_circuit(t, p, c, index[c.name], g, x.routing_weight, ids, keys.get(c.name), onprem_key)
    ce_ic = p["er.ce_interconnect"] if er.ce_interconnect is None else er.ce_interconnect
    for c in er.circuits:
        add_interconnects(t, p, c, index[c.name], ce_ic)
    t.behaviours.append(PrefixLimitRetry(tuple(m for i in range(len(er.circuits)) for m in msees(i)),
                                         p["msee.prefix_limit_retry_s"]))


def read_md5_key(path: Path, whose: str) -> str:
    """The MD5 key in ``path`` (one word), or one sentence saying what is wrong with the file."""
    try:
        key = path.read_text().strip()
    except OSError as e:
        raise TestbedError(f"cannot read the MD5 key file {path} of {whose} ({e.strerror}): check the path.") from e
    if not key or any(ch.isspace() for ch in key):
        raise TestbedError(f"the MD5 key file {path} of {whose} must hold one word: fix it.")
    return key


def md5_keys(net: NetworkFile, resolve) -> dict[str, str]:
    """Each circuit's MD5 key, read from the file it names."""
    return {c.name: read_md5_key(Path(resolve(c.md5_key_file)), f"circuit {c.name}")
            for c in (net.expressroute.circuits if net.expressroute else []) if c.md5_key_file}


def onprem_md5_key(p: Params) -> str | None:
    """The on-prem edges' own MD5 key (``onprem.md5_key_file``), or None: they use the circuit's."""
    path = p["onprem.md5_key_file"]
    return read_md5_key(Path(path), "onprem.md5_key_file") if path else None


def local_pref(c: Circuit, p: Params) -> int:
    """On-prem's local preference for routes learned over ``c``."""
    return c.local_pref if c.local_pref is not None else p["onprem.er_local_pref"]


def preferred(net: NetworkFile, p: Params) -> list[Circuit]:
    """The circuits on-prem prefers (the highest local preference)."""
    er = net.expressroute
    if not er:
        return []
    best = max(local_pref(c, p) for c in er.circuits)
    return [c for c in er.circuits if local_pref(c, p) == best]


def add_expectations(t: Topology, p: Params, net: NetworkFile, vnet_prefix: str, onprem_prefix: str) -> None:
    """Each edge reaches the VNet over its own link and each MSEE on-prem over its own; each
    gateway instance reaches on-prem over the MSEEs of the connections with the highest weight;
    the VNet reaches on-prem over every instance of its ExpressRoute gateway, and so does each
    MSEE the first VNet."""
    er = net.expressroute
    assert er is not None
    index = {c.name: i for i, c in enumerate(er.circuits)}
    for c in er.circuits:
        for (leg, end), msee in zip(c.ends(), msees(index[c.name])):
            t.fib += [FibExpectation(end.router, vnet_prefix, via=(f"{c.name}-{leg}",)),
                      FibExpectation(msee, onprem_prefix, via=(f"{c.name}-{leg}",))]
    for g in er.gateways:
        best = max(x.routing_weight for x in g.connections)
        names = instances(g, p)
        for name in names:
            via = tuple(f"{m}-{name}" for x in g.connections if x.routing_weight == best for m in msees(index[x.circuit]))
            t.fib.append(FibExpectation(name, onprem_prefix, len(via), via=via))
        t.fib.append(FibExpectation(g.vnet, onprem_prefix, len(names), via=tuple(f"{n}-{g.vnet}" for n in names)))
        if g.vnet == net.vnets[0].name:
            t.fib += [FibExpectation(m, vnet_prefix, len(names), via=tuple(f"{m}-{n}" for n in names))
                      for x in g.connections for m in msees(index[x.circuit])]
