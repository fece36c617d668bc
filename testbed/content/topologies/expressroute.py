"""ExpressRoute private peering, active-active, as Azure builds it.

::

    h1 --- core ---+--- ce1 ===ER primary==== msee1 ---+
    (on-prem LAN)  |     |                       |     +--- ergw --- vnet --- vm1
                   |     | (iBGP)         (iBGP) |     |   (65515)  (65515)  (VNet subnet)
                   +--- ce2 ===ER secondary== msee2 ---+
      AS onprem.asn (65020)        AS msee.asn (12076)

- One /29 split in two /30s: the primary link takes the first, the secondary the second; in
  each the customer (ce) takes .1 and Microsoft (msee) .2. One CE per link (Azure's HA advice).
- ce1/ce2 run eBGP with BFD to the MSEEs; core runs iBGP to both CEs and load-shares (ECMP);
  ergw takes both MSEE paths and load-shares toward on-prem: active-active in both directions.
- The CEs, and the MSEEs, are each joined by a link with iBGP (``er.ce_interconnect``,
  ``er.msee_interconnect``): the router that loses its ER link sends through its twin as soon
  as its own BGP has reacted, so one BGP speaker per direction, not two, stands between a
  failure and the traffic moving.
- MSEEs: timers 60/180, BFD 300 ms x 3, the customer prefix limit, customer communities
  ignored; VNet routes reach on-prem with AS path ``12076`` only.
- Every iBGP session over a direct link (core-ce, the interconnects, gateway-vnet) drops the
  moment its link loses carrier, as eBGP ones do (GTSM one hop: see ``Topology.ebgp``).
"""
from __future__ import annotations

import ipaddress

from testbed.model.params import Params
from testbed.model.topo import BfdProfile, FibExpectation, RouteMap, Topology, subnets


def add_onprem(t: Topology, p: Params) -> None:
    """h1 and the core router of the on-prem network; callers attach edges to ``core``.

    The address space is originated by a ``network`` statement alone (import-check off), not
    by a blackhole static: that would also "resolve" iBGP next hops inside the range whose link
    is gone, and traffic would be blackholed instead of rerouted.
    """
    lan = p.net("onprem.lan")
    t.host("h1", role="onprem").gateway = str(lan.network_address + 1)
    t.router("core", asn=p["onprem.asn"], role="onprem", router_id="10.255.0.1",
                    networks=[p["onprem.prefix"]], maximum_paths=2)
    t.link("h1", "core", lan, label="onprem-lan", a_host=10, b_host=1)


def add_vnet(t: Topology, p: Params) -> None:
    """The VNet router (Azure's SDN, AS 65515) and vm1; gateways attach to ``vnet``."""
    subnet = p.net("vnet.subnet")
    # Azure reserves the first four addresses of a subnet: the first VM gets .4.
    t.host("vm1", role="azure").gateway = str(subnet.network_address + 1)
    t.router("vnet", asn=p["ergw.asn"], role="azure", router_id="10.255.1.1",
             networks=[p["vnet.prefix"]], maximum_paths=2)
    t.link("vm1", "vnet", subnet, label="vnet-subnet", a_host=4, b_host=1)


def add_expressroute(t: Topology, p: Params, gw_links: list[ipaddress.IPv4Network]) -> None:
    """ce1/ce2, msee1/msee2 and ergw, attached to ``core`` and ``vnet``."""
    bfd = BfdProfile("azure", p["bfd.interval_ms"], p["bfd.multiplier"])
    er = list(ipaddress.IPv4Network(p["er.peering_subnet"]).subnets(new_prefix=30))
    core_links = subnets(p["onprem.links"], 30)
    backbone = subnets(p["msee.backbone"], 30)
    t.router("ergw", asn=p["ergw.asn"], role="azure", router_id="10.255.1.2", maximum_paths=2)
    gw = t.link("ergw", "vnet", gw_links[0], label="ergw-vnet", a_host=2, b_host=1)
    # Azure prefers ExpressRoute over VPN for an identical prefix (weight, see params).
    t.ebgp(gw, "ergw-vnet", a_opts={"next_hop_self": True}, b_opts={"weight": p["vnet.er_weight"]})

    for i, (leg, er_net) in enumerate(zip(("primary", "secondary"), er), start=1):
        ce, msee = f"ce{i}", f"msee{i}"
        # On-prem prefers ExpressRoute by local preference (azure-facts: 150 against 100).
        t.router(ce, asn=p["onprem.asn"], role="onprem", router_id=f"10.255.0.{10 + i}",
                 route_maps=[RouteMap("ER-IN", [f"set local-preference {p['onprem.er_local_pref']}"])])
        t.router(msee, asn=p["msee.asn"], role="azure", router_id=f"10.255.2.{i}",
                 route_maps=[RouteMap("CUSTOMER-IN", ["set community none"])])
        # iBGP core <-> ce: the CE hands its ExpressRoute routes to the core with itself as next hop.
        c = t.link("core", ce, next(core_links), label=f"core-{ce}")
        t.ebgp(c, f"core-{ce}", a_opts={}, b_opts={"next_hop_self": True})
        # The private peering: customer .1, Microsoft .2 of each /30.
        link = t.link(ce, msee, er_net, label=f"er-{leg}")
        t.ebgp(link, f"er-{leg}",
               a_opts={"keepalive_s": p["onprem.keepalive_s"], "hold_s": p["onprem.hold_s"],
                       "bfd": bfd if p["onprem.bfd"] else None, "route_map_in": "ER-IN"},
               b_opts={"keepalive_s": p["msee.keepalive_s"], "hold_s": p["msee.hold_s"],
                       "bfd": bfd if p["bfd.enabled"] else None,
                       # Communities sent by the customer are ignored (azure-facts).
                       "route_map_in": "CUSTOMER-IN",
                       # Over the limit the MSEE drops the session (azure-facts: 4,000 / 10,000).
                       "max_prefix": p.prefix_limit(),
                       # On-prem sees VNet routes with AS path 12076 only (65515 is stripped).
                       "remove_private_as": True})
        bb = t.link(msee, "ergw", next(backbone), label=f"{msee}-ergw")
        t.ebgp(bb, f"{msee}-ergw",
               a_opts={"keepalive_s": p["msee.keepalive_s"], "hold_s": p["msee.hold_s"]},
               b_opts={"keepalive_s": p["ergw.keepalive_s"], "hold_s": p["ergw.hold_s"]})


def add_interconnects(t: Topology, p: Params) -> None:
    """The CE pair and the MSEE pair each joined by a link with iBGP: a router that loses its
    ExpressRoute link keeps forwarding through its twin after its own BGP reaction, instead of
    dropping traffic until the next router upstream has heard the withdraw."""
    if p["er.ce_interconnect"]:
        ce = t.link("ce1", "ce2", list(subnets(p["onprem.links"], 30))[2], label="ce-interconnect")
        t.ebgp(ce, "ce-interconnect", a_opts={"next_hop_self": True}, b_opts={"next_hop_self": True})
    if p["er.msee_interconnect"]:
        ms = t.link("msee1", "msee2", list(subnets(p["msee.backbone"], 30))[2], label="msee-interconnect")
        t.ebgp(ms, "msee-interconnect", a_opts={"next_hop_self": True}, b_opts={"next_hop_self": True})


def add_expectations(t: Topology, p: Params) -> None:
    """ExpressRoute is the path in both directions, load-shared over both links."""
    vnet, onprem = p["vnet.prefix"], p["onprem.prefix"]
    t.fib += [FibExpectation("core", vnet, 2, via=("core-ce1", "core-ce2")),
              FibExpectation("ergw", onprem, 2, via=("msee1-ergw", "msee2-ergw")),
              FibExpectation("ce1", vnet, via=("er-primary",)), FibExpectation("ce2", vnet, via=("er-secondary",)),
              FibExpectation("msee1", onprem, via=("er-primary",)), FibExpectation("msee2", onprem, via=("er-secondary",)),
              FibExpectation("vnet", onprem, via=("ergw-vnet",))]


def add_reach(t: Topology) -> None:
    t.reach += [("h1", t.address("vm1")), ("vm1", t.address("h1"))]


def build(p: Params) -> Topology:
    t = Topology("expressroute", p)
    add_onprem(t, p)
    add_vnet(t, p)
    add_expressroute(t, p, list(subnets(p["vnet.gateway_subnet"], 30)))
    add_interconnects(t, p)
    add_expectations(t, p)
    add_reach(t)
    return t
