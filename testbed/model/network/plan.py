"""The address plan of a network file, checked before anything starts: each problem is
(where in the file, one clause naming it and the fix). Azure's own rules are cited from
docs/azure.md."""
from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network

from testbed.model.network.schema import NetworkFile
from testbed.model.params import RESERVED_ASNS, Params

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]
# docs/azure.md#site-to-site-vpn-gateway: custom APIPA BGP addresses lie in 169.254.21.0-169.254.22.255.
APIPA = IPv4Network("169.254.20.0/22")
APIPA_FIRST, APIPA_LAST = IPv4Address("169.254.21.0"), IPv4Address("169.254.22.255")


def onprem_routers(net: NetworkFile) -> dict[str, Loc]:
    return {r.name: ("onprem", "sites", i, "routers", j, "name")
            for i, s in enumerate(net.onprem.sites) for j, r in enumerate(s.routers)}


def gateway_vnets(net: NetworkFile) -> set[str]:
    """The VNets that hold a gateway (ExpressRoute or VPN): the hubs."""
    er = {g.vnet for g in (net.expressroute.gateways if net.expressroute else [])}
    return er | ({net.vpn.gateways[0].vnet} if net.vpn else set())


def files(net: NetworkFile) -> Iterator[tuple[Loc, str]]:
    """Every file the network names (configs, keys), where it names it."""
    for i, s in enumerate(net.onprem.sites):
        for j, r in enumerate(s.routers):
            if r.config:
                yield ("onprem", "sites", i, "routers", j, "config"), r.config
    for i, c in enumerate(net.expressroute.circuits if net.expressroute else []):
        if c.md5_key_file:
            yield ("expressroute", "circuits", i, "md5_key_file"), c.md5_key_file
    for i, v in enumerate(net.vpn.connections if net.vpn else []):
        if v.shared_key_file:
            yield ("vpn", "connections", i, "shared_key_file"), v.shared_key_file


def problems(net: NetworkFile, p: Params) -> Iterator[Problem]:
    """Everything wrong with the plan, in file order within each kind of check."""
    yield from _names(net)
    yield from _references(net)
    yield from _asns(net, p)
    yield from _circuits(net, p)
    yield from _vpn(net, p)
    yield from _spaces(net, p)
    yield from _advertised(net, p)
    yield from _links(net)


def _names(net: NetworkFile) -> Iterator[Problem]:
    seen: set[str] = set()
    nodes: list[tuple[str, Loc]] = [(r.name, ("onprem", "sites", i, "routers", j, "name"))
                                    for i, s in enumerate(net.onprem.sites) for j, r in enumerate(s.routers)]
    nodes += [(h.name, ("onprem", "sites", i, "hosts", j, "name"))
              for i, s in enumerate(net.onprem.sites) for j, h in enumerate(s.hosts)]
    nodes += [(v.name, ("vnets", i, "name")) for i, v in enumerate(net.vnets)]
    for i, v in enumerate(net.vnets):
        for j, sn in enumerate(v.subnets or []):
            nodes += [(vm, ("vnets", i, "subnets", j, "vms", k)) for k, vm in enumerate(sn.vms)]
    if net.expressroute:
        nodes += [(g.name, ("expressroute", "gateways", i, "name")) for i, g in enumerate(net.expressroute.gateways)]
    all_names = [n for n, _ in nodes]
    if len(set(all_names)) != len(all_names):
        for name, loc in nodes:
            if name in seen:
                yield loc, f"{name!r} names a second node: give each router, host, VM and gateway its own name."
                return
            seen.add(name)
    ids: dict[str, str] = {}
    for i, site in enumerate(net.onprem.sites):
        for j, r in enumerate(site.routers):
            if r.router_id is not None and str(r.router_id) in ids:
                yield (("onprem", "sites", i, "routers", j, "router_id"),
                       f"{r.router_id} is {ids[str(r.router_id)]}'s router id too: give each router its own.")
            elif r.router_id is not None:
                ids[str(r.router_id)] = r.name
    for name, loc in nodes:
        if name in ("inet",) or (name.startswith("msee") and name[4:].isdigit()):
            yield loc, f"{name!r} is the name of a node the testbed adds on Azure's side: choose another."


def _references(net: NetworkFile) -> Iterator[Problem]:
    routers = onprem_routers(net)
    hosts = {h.name for s in net.onprem.sites for h in s.hosts}
    vnets = {v.name: v for v in net.vnets}
    vms = {vm for v in net.vnets for sn in (v.subnets or []) for vm in sn.vms} | (
        {"vm1"} if any(v.subnets is None for v in net.vnets) else set())

    def router(loc: Loc, name: str) -> Iterator[Problem]:
        if name not in routers:
            yield loc, f"names router {name!r}, which no site declares: declare it or use one of {', '.join(routers)}."

    for i, s in enumerate(net.onprem.sites):
        if s.originator:
            yield from router(("onprem", "sites", i, "originator"), s.originator)
        for j, h in enumerate(s.hosts):
            yield from router(("onprem", "sites", i, "hosts", j, "router"), h.router)
    for i, link in enumerate(net.onprem.links):
        for k, e in enumerate(link.endpoints):
            yield from router(("onprem", "links", i, "endpoints", k, "node"), e.node)
    er = net.expressroute
    if er:
        circuits = {c.name for c in er.circuits}
        for i, g in enumerate(er.gateways):
            if g.vnet not in vnets:
                yield ("expressroute", "gateways", i, "vnet"), f"names VNet {g.vnet!r}, which is not declared: use one of {', '.join(vnets)}."
            for j, x in enumerate(g.connections):
                if x.circuit not in circuits:
                    yield ("expressroute", "gateways", i, "connections", j, "circuit"), (
                        f"names circuit {x.circuit!r}, which is not declared: use one of {', '.join(circuits)}.")
        for i, c in enumerate(er.circuits):
            for leg, end in c.ends():
                yield from router(("expressroute", "circuits", i, leg, "router"), end.router)
            if not any(c.name == x.circuit for g in er.gateways for x in g.connections):
                yield ("expressroute", "circuits", i, "name"), (
                    f"circuit {c.name!r} has no connection to a gateway: add one under expressroute.gateways.")
    if net.vpn:
        gw, lng, conn = net.vpn.gateways[0], net.vpn.local_gateways[0], net.vpn.connections[0]
        if gw.vnet not in vnets:
            yield ("vpn", "gateways", 0, "vnet"), f"names VNet {gw.vnet!r}, which is not declared: use one of {', '.join(vnets)}."
        yield from router(("vpn", "local_gateways", 0, "router"), lng.router)
        if conn.gateway != gw.name:
            yield ("vpn", "connections", 0, "gateway"), f"names gateway {conn.gateway!r}: the VPN gateway is {gw.name!r}."
        if conn.local_gateway != lng.name:
            yield ("vpn", "connections", 0, "local_gateway"), (
                f"names local gateway {conn.local_gateway!r}: the local network gateway is {lng.name!r}.")
    with_gateway = gateway_vnets(net)
    for i, v in enumerate(net.vnets):
        if v.hub is None:
            continue
        hub = vnets.get(v.hub)
        if hub is None:
            yield ("vnets", i, "hub"), f"names hub {v.hub!r}, which is not a VNet of the file: use one of {', '.join(vnets)}."
        elif hub.hub is not None:
            yield ("vnets", i, "hub"), f"names {v.hub!r}, itself a spoke: peer the spoke with a hub (peering is not transitive)."
        elif v.hub not in with_gateway:
            yield ("vnets", i, "hub"), f"names hub {v.hub!r}, which has no gateway: give the hub a gateway or peer with one that has."
        if v.name in with_gateway:
            yield ("vnets", i, "name"), f"spoke {v.name!r} has a gateway of its own: a spoke uses its hub's (gateway transit)."
        if v.address_space is None or v.subnets is None:
            yield ("vnets", i, "address_space" if v.address_space is None else "subnets"), (
                "a spoke needs its own address_space and subnets: add them.")
    if net.probes:
        a, b = net.probes
        if a not in hosts:
            yield ("probes", 0), f"{a!r} is not an on-prem host: the first probe end is one of {', '.join(sorted(hosts)) or 'none (add a host)'}."
        if b not in vms:
            yield ("probes", 1), f"{b!r} is not a VM of a VNet: the second probe end is one of {', '.join(sorted(vms))}."
    elif not hosts:  # the probes run from the first host to the first VM
        yield ("onprem", "sites"), "has no host for the probe traffic to start from: add one to a site (hosts: [{name: h1, router: R, subnet: S}])."
    elif not vms:
        yield ("vnets",), "have no VM for the probe traffic to reach: add one to a subnet (subnets: [{prefix: P, vms: [vm1]}])."


def _asns(net: NetworkFile, p: Params) -> Iterator[Problem]:
    # docs/azure.md#expressroute-private-peering: 65515-65520, 8074, 8075 and 12076 are Azure's.
    ases = [(("onprem", "asn"), net.onprem.asn)] + [
        (("onprem", "sites", i, "routers", j, "asn"), r.asn)
        for i, s in enumerate(net.onprem.sites) for j, r in enumerate(s.routers)]
    if net.vpn:
        ases.append((("vpn", "local_gateways", 0, "asn"), net.vpn.local_gateways[0].asn))
    for loc, asn in ases:
        if asn in RESERVED_ASNS:
            yield loc, f"{asn} is reserved by Azure (65515-65520, 8074, 8075, 12076): choose another private ASN such as 65020."


def _circuits(net: NetworkFile, p: Params) -> Iterator[Problem]:
    if not net.expressroute:
        return
    used: list[tuple[IPv4Network, Loc]] = []
    for i, c in enumerate(net.expressroute.circuits):
        loc: Loc = ("expressroute", "circuits", i)
        if c.peering_subnet is not None and (c.primary_subnet or c.secondary_subnet):
            yield (*loc, "peering_subnet"), "is given with primary_subnet/secondary_subnet: give the /29 or the two /30s."
            continue
        if (c.primary_subnet is None) != (c.secondary_subnet is None):
            yield (*loc, "primary_subnet" if c.primary_subnet is None else "secondary_subnet"), (
                "is missing: give both /30s (or one /29 as peering_subnet).")
            continue
        # docs/azure.md#expressroute-private-peering: a /29 split in two /30s, or two /30s.
        if c.peering_subnet is not None and c.peering_subnet.prefixlen != 29:
            yield (*loc, "peering_subnet"), f"{c.peering_subnet} must be a /29 (Azure splits it into two /30s): fix it."
        for key, sn in (("primary_subnet", c.primary_subnet), ("secondary_subnet", c.secondary_subnet)):
            if sn is not None and sn.prefixlen != 30:
                yield (*loc, key), f"{sn} must be a /30 (customer .1, Microsoft .2): fix it."
        key = "peering_subnet" if c.primary_subnet is None else "primary_subnet"
        for sn in c.subnets(p):
            for other, oloc in used:
                if sn.overlaps(other):
                    yield (*loc, key), f"{sn} overlaps the peering subnet of circuit {oloc[2]}: give each circuit its own."
            used.append((sn, loc))
        if c.primary.router == c.secondary.router:
            yield (*loc, "secondary", "router"), (
                "is the primary's router too: Azure's high-availability advice is one edge per link; use another router.")


def _vpn(net: NetworkFile, p: Params) -> Iterator[Problem]:
    if not net.vpn:
        return
    gw, lng = net.vpn.gateways[0], net.vpn.local_gateways[0]
    vnet = next((v for v in net.vnets if v.name == gw.vnet), None)
    if gw.bgp_addresses:
        loc: Loc = ("vpn", "gateways", 0, "bgp_addresses")
        instances = gw.instances or p["vpngw.instances"]
        if len(gw.bgp_addresses) != instances:
            yield loc, f"gives {len(gw.bgp_addresses)} address(es) for {instances} instance(s): give one per instance."
        if len(set(gw.bgp_addresses)) != len(gw.bgp_addresses):
            yield loc, "gives one address twice: each instance has its own BGP address."
        for k, a in enumerate(gw.bgp_addresses):
            in_gw = vnet is not None and a in vnet.gw_subnet(p)
            if not in_gw and not APIPA_FIRST <= a <= APIPA_LAST:
                yield (*loc, k), (f"{a} is neither in the GatewaySubnet {vnet.gw_subnet(p) if vnet else '?'} nor in "
                                  "Azure's APIPA range 169.254.21.0-169.254.22.255: use one of those.")
    if lng.bgp_address is not None:
        owner = next((r for s in net.onprem.sites for r in s.routers if r.name == lng.router), None)
        if owner is not None and lng.bgp_address not in {lo.ip for lo in owner.loopbacks} \
                and not APIPA_FIRST <= lng.bgp_address <= APIPA_LAST:
            yield ("vpn", "local_gateways", 0, "bgp_address"), (
                f"{lng.bgp_address} is not an address of {lng.router}: put it on a loopback of {lng.router} "
                "(onprem...routers[].loopbacks) or use an APIPA address.")
        if gw.bgp_addresses and lng.bgp_address in gw.bgp_addresses:
            yield ("vpn", "local_gateways", 0, "bgp_address"), f"{lng.bgp_address} is a gateway's BGP address too: use another."


def _advertised(net: NetworkFile, p: Params) -> Iterator[Problem]:
    """docs/azure.md#prefix-limits: an ExpressRoute gateway advertises its VNet's address spaces
    and those of the spokes that use it (gateway transit), at most ergw.advertise_limit per
    connection; above it Azure takes the connection down, so such a plan would never converge."""
    limit = p["ergw.advertise_limit"]
    for i, g in enumerate(net.expressroute.gateways if net.expressroute else []):
        count = sum(len(v.space(p)) for v in net.vnets if g.vnet in (v.name, v.hub))
        if count > limit:
            yield ("expressroute", "gateways", i, "vnet"), (
                f"VNet {g.vnet} and its spokes have {count} address space(s), above the {limit} IPv4 prefixes Azure "
                "advertises per ExpressRoute connection (it takes the connection down): merge address spaces.")


def _spaces(net: NetworkFile, p: Params) -> Iterator[Problem]:
    # (prefix, where, whose, given in the file): a clash is reported where the file has a line
    spaces: list[tuple[IPv4Network, Loc, str, bool]] = []
    for i, s in enumerate(net.onprem.sites):
        spaces += [(n, ("onprem", "sites", i, "address_space"), f"site {s.name}" + ("" if s.address_space else
                    " (onprem.prefix)"), s.address_space is not None) for n in s.space(p)]
    for i, v in enumerate(net.vnets):
        spaces += [(n, ("vnets", i, "address_space"), f"VNet {v.name}" + ("" if v.address_space else " (vnet.prefix)"),
                    v.address_space is not None) for n in v.space(p)]
    for k, (a, aloc, aname, agiven) in enumerate(spaces):
        for b, bloc, bname, bgiven in spaces[k + 1:]:
            if a.overlaps(b):
                loc = bloc if bgiven or not agiven else aloc
                yield loc, f"{b} of {bname} overlaps {a} of {aname}: give them separate address spaces."
                return
    pools = [("onprem.links", p.net("onprem.links"))]
    pools += [("msee.backbone", p.net("msee.backbone"))] if net.expressroute else []
    pools += [("inet.prefix", p.net("inet.prefix"))] if net.vpn else []
    for key, rng in pools:
        for n, loc, name, _ in spaces:
            if rng.overlaps(n) and not (key == "onprem.links" and loc[0] == "onprem"):
                yield ("params", key), (f"the pool {key} {rng} overlaps {n} of {name}: set {key} to a range of "
                                        "its own under params.")
                return
    gateways = gateway_vnets(net)
    for i, v in enumerate(net.vnets):
        if v.name in gateways and not any(v.gw_subnet(p).subnet_of(n) for n in v.space(p)):
            yield ("vnets", i, "gateway_subnet" if v.gateway_subnet else "address_space"), (
                f"the GatewaySubnet {v.gw_subnet(p)} is not inside VNet {v.name}'s address space: fix one of them.")
        for j, sn in enumerate(v.subnet_list(p)):
            if not any(sn.prefix.subnet_of(n) for n in v.space(p)):
                yield ("vnets", i, "subnets", j, "prefix"), f"{sn.prefix} is not inside VNet {v.name}'s address space: fix one of them."
    lans: list[IPv4Network] = []
    for i, s in enumerate(net.onprem.sites):
        for j, h in enumerate(s.hosts):
            lan = h.subnet or p.net("onprem.lan")
            if any(lan.overlaps(other) for other in lans):
                yield ("onprem", "sites", i, "hosts", j, "subnet"), (
                    f"{lan} overlaps another host's LAN: give each host a subnet of its own.")
            lans.append(lan)
            if not any(lan.subnet_of(n) for n in s.space(p)):
                yield ("onprem", "sites", i, "hosts", j, "subnet"), (
                    f"{lan} is not inside site {s.name}'s address space: fix one of them.")


def _links(net: NetworkFile) -> Iterator[Problem]:
    taken: dict[IPv4Address, Loc] = {}
    for i, link in enumerate(net.onprem.links):
        loc: Loc = ("onprem", "links", i)
        if link.endpoints[0].node == link.endpoints[1].node:
            yield (*loc, "endpoints"), "joins a router to itself: name two routers."
        for k, e in enumerate(link.endpoints):
            if e.address is None:
                continue
            if link.subnet is not None and e.address.ip not in link.subnet:
                yield (*loc, "endpoints", k, "address"), f"{e.address} is not in the link's subnet {link.subnet}: fix one of them."
            if e.address.ip in taken:
                yield (*loc, "endpoints", k, "address"), f"{e.address.ip} is taken twice: give each end its own address."
            taken[e.address.ip] = (*loc, "endpoints", k, "address")
        if (link.endpoints[0].address is None) != (link.endpoints[1].address is None):
            yield (*loc, "endpoints"), "gives an address to one end only: give both ends one, or neither."
        elif link.endpoints[0].address and link.endpoints[0].address.network != link.endpoints[1].address.network:
            yield (*loc, "endpoints"), "gives its two ends addresses in different subnets: put them in one."
