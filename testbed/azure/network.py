"""Build the topology a network file describes: its on-prem sites as written, and Azure's side
(MSEEs, gateways, VNets) as Azure builds it for the circuits, connections and VNets named."""
from __future__ import annotations

import ipaddress

from testbed.azure import expressroute, onprem, vnet, vpngateway
from testbed.azure.addressing import RouterIds, pool
from testbed.model.network import plan
from testbed.model.network.load import Source
from testbed.model.network.schema import NetworkFile
from testbed.model.params import Params, disjoint
from testbed.model.topo import FibExpectation, Topology


def validate(net: NetworkFile, p: Params) -> None:
    """The parameters the file's parts use, as Azure would check them."""
    onprem.validate(p)
    vnet.validate(p)
    ranges = ["onprem.links"]
    if net.expressroute:
        expressroute.validate(p)
        ranges += ["msee.backbone"]
    if net.vpn:
        vpngateway.validate(p)
        ranges += ["inet.prefix"]
    disjoint(p, ranges)


def edges(net: NetworkFile) -> set[str]:
    """The on-prem routers that terminate a circuit or a VPN connection."""
    out = {end.router for c in (net.expressroute.circuits if net.expressroute else []) for _, end in c.ends()}
    return out | ({net.vpn.local_gateways[0].router} if net.vpn else set())


def build(net: NetworkFile, p: Params, src: Source, origin: str = "") -> Topology:
    """The topology of ``net`` (read from ``src``), once its parameters and address plan hold."""
    validate(net, p)
    for loc, message in plan.problems(net, p):
        raise src.error(loc, message)
    t = Topology(net.name, p, origin=origin or net.name)
    ids = RouterIds()
    for site in net.onprem.sites:
        onprem.add_site(t, p, net, site, ids)
    hubs = [v for v in net.vnets if v.hub is None]
    if net.vpn:  # the gateway's own BGP addresses in its GatewaySubnet stay free
        within = next(v for v in net.vnets if v.name == net.vpn.gateways[0].vnet).gw_subnet(p)
        taken = tuple(a for a in map(ipaddress.IPv4Address, vpngateway.gateway_bgp(p, net)) if a in within)
        if taken:
            pool(t, "vnet.gateway_subnet", within, avoid=taken)
    for v in hubs:
        vnet.add_vnet(t, p, v, ids)
    onprem.add_links(t, p, net, edges(net))
    vnet_prefix, onprem_prefix = str(net.vnets[0].space(p)[0]), str(net.onprem.sites[0].space(p)[0])
    if net.expressroute:
        expressroute.add_expressroute(t, p, net, ids, expressroute.md5_keys(net, src.resolve),
                                      expressroute.onprem_md5_key(p))
    if net.vpn:
        vpngateway.add_vpn(t, p, net, ids)
    for spoke in (v for v in net.vnets if v.hub is not None):
        vnet.add_vnet(t, p, spoke, ids)
        hub = next(h for h in hubs if h.name == spoke.hub)
        vnet.add_spoke(t, p, spoke, hub, [s for s in net.vnets if s.hub == hub.name])
    for hub in hubs:
        if any(s.hub == hub.name for s in net.vnets):
            vnet.reflect(t, hub.name)
    add_expectations(t, p, net, vnet_prefix, onprem_prefix)
    for c in sorted(net.expressroute.circuits if net.expressroute else [], key=lambda c: -expressroute.local_pref(c, p)):
        t.circuits[c.name] = tuple(f"{c.name}-{leg}" for leg, _ in c.ends())
    t.configs = {r.name: src.resolve(r.config) for s in net.onprem.sites for r in s.routers if r.config}
    vms = [vm for v in net.vnets for sn in v.subnet_list(p) for vm in sn.vms]
    hosts = [h.name for s in net.onprem.sites for h in s.hosts]
    a, b = net.probes or (hosts[0], vms[0])
    vnet.add_reach(t, a, b)
    return t


def add_expectations(t: Topology, p: Params, net: NetworkFile, vnet_prefix: str, onprem_prefix: str) -> None:
    """The baseline paths: on-prem routers behind the edges reach the VNet over the edges on-prem
    prefers (the circuits with the highest local preference, else the VPN device)."""
    if net.expressroute:
        expressroute.add_expectations(t, p, net, vnet_prefix, onprem_prefix)
    if net.vpn:
        vpngateway.add_expectations(t, p, net, vnet_prefix, onprem_prefix)
    best = {end.router for c in expressroute.preferred(net, p) for _, end in c.ends()} or edges(net)
    inner = {r.name for s in net.onprem.sites for r in s.routers} - edges(net)
    for r in sorted(inner, key=list(t.routers).index):
        via = tuple(l.label for l in t.links if {l.a.node, l.b.node} & best and r in (l.a.node, l.b.node))
        if via:
            t.fib.insert(0, FibExpectation(r, vnet_prefix, len(via), via=via))
