"""ExpressRoute as Azure builds it: private peering on two links (primary, secondary), the
Microsoft edge routers (MSEEs), the ExpressRoute gateway, and the customer's two CEs.

Each number comes from docs/azure.md (private peering, BGP timers, BFD, prefix limits, route
preference); the CE and MSEE interconnects are the testbed's own (docs/azure.md#what-the-testbed-adds).
"""
from __future__ import annotations

import ipaddress

from testbed.azure.addressing import subnet
from testbed.azure.prefix_limit import PrefixLimitRetry
from testbed.errors import TestbedError
from testbed.model.params import Params, network
from testbed.model.topo import BfdProfile, FibExpectation, RouteMap, Topology

LEGS = ("primary", "secondary")


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
    peering = network(p, "er.peering_subnet")
    if peering.prefixlen != 29:
        raise TestbedError(f"er.peering_subnet {peering} must be a /29 (Azure splits it into two /30s): fix it.")
    network(p, "msee.backbone")


def add_expressroute(t: Topology, p: Params) -> None:
    """ce1/ce2, msee1/msee2 and ergw, attached to ``core`` and ``vnet``."""
    bfd = BfdProfile("azure", p["bfd.interval_ms"], p["bfd.multiplier"])
    # One /29 split in two /30s: the first is the primary link, the second the secondary.
    er = list(ipaddress.IPv4Network(p["er.peering_subnet"]).subnets(new_prefix=30))
    t.router("ergw", asn=p["ergw.asn"], role="azure", router_id="10.255.1.2", maximum_paths=2)
    gw = t.link("ergw", "vnet", subnet(t, "vnet.gateway_subnet", "ergw-vnet"), label="ergw-vnet", a_host=2, b_host=1)
    # Azure prefers ExpressRoute over VPN for an identical prefix (weight, see params).
    t.ebgp(gw, "ergw-vnet", a_opts={"next_hop_self": True}, b_opts={"weight": p["vnet.er_weight"]})

    for i, (leg, er_net) in enumerate(zip(LEGS, er), start=1):
        ce, msee = f"ce{i}", f"msee{i}"
        # On-prem prefers ExpressRoute by local preference (150 against 100).
        t.router(ce, asn=p["onprem.asn"], role="onprem", router_id=f"10.255.0.{10 + i}",
                 route_maps=[RouteMap("ER-IN", [f"set local-preference {p['onprem.er_local_pref']}"])])
        t.router(msee, asn=p["msee.asn"], role="azure", router_id=f"10.255.2.{i}",
                 route_maps=[RouteMap("CUSTOMER-IN", ["set community none"])])
        # iBGP core <-> ce: the CE hands its ExpressRoute routes to the core with itself as next hop.
        c = t.link("core", ce, subnet(t, "onprem.links", f"core-{ce}"), label=f"core-{ce}")
        t.ebgp(c, f"core-{ce}", a_opts={}, b_opts={"next_hop_self": True})
        # The private peering: customer .1, Microsoft .2 of each /30.
        link = t.link(ce, msee, er_net, label=f"er-{leg}")
        t.path(link.label)
        t.ebgp(link, f"er-{leg}",
               a_opts={"keepalive_s": p["onprem.keepalive_s"], "hold_s": p["onprem.hold_s"],
                       "bfd": bfd if p["onprem.bfd"] else None, "route_map_in": "ER-IN"},
               b_opts={"keepalive_s": p["msee.keepalive_s"], "hold_s": p["msee.hold_s"],
                       "bfd": bfd if p["bfd.enabled"] else None,
                       # Communities sent by the customer are ignored.
                       "route_map_in": "CUSTOMER-IN",
                       # Over the limit the MSEE drops the session (4,000 / 10,000 with Premium).
                       "max_prefix": p.prefix_limit(),
                       # On-prem sees VNet routes with AS path 12076 only (65515 is stripped).
                       "remove_private_as": True})
        bb = t.link(msee, "ergw", subnet(t, "msee.backbone", f"{msee}-ergw"), label=f"{msee}-ergw")
        t.ebgp(bb, f"{msee}-ergw",
               a_opts={"keepalive_s": p["msee.keepalive_s"], "hold_s": p["msee.hold_s"]},
               b_opts={"keepalive_s": p["ergw.keepalive_s"], "hold_s": p["ergw.hold_s"]})
    t.behaviours.append(PrefixLimitRetry(("msee1", "msee2"), p["msee.prefix_limit_retry_s"]))


def add_interconnects(t: Topology, p: Params) -> None:
    """The CE pair and the MSEE pair each joined by a link with iBGP: a router that loses its
    ExpressRoute link keeps forwarding through its twin after its own BGP reaction, instead of
    dropping traffic until the next router upstream has heard the withdraw."""
    if p["er.ce_interconnect"]:
        ce = t.link("ce1", "ce2", subnet(t, "onprem.links", "ce-interconnect"), label="ce-interconnect")
        t.ebgp(ce, "ce-interconnect", a_opts={"next_hop_self": True}, b_opts={"next_hop_self": True})
    if p["er.msee_interconnect"]:
        ms = t.link("msee1", "msee2", subnet(t, "msee.backbone", "msee-interconnect"), label="msee-interconnect")
        t.ebgp(ms, "msee-interconnect", a_opts={"next_hop_self": True}, b_opts={"next_hop_self": True})


def add_expectations(t: Topology, p: Params) -> None:
    """ExpressRoute is the path in both directions, load-shared over both links."""
    vnet, onprem = p["vnet.prefix"], p["onprem.prefix"]
    t.fib += [FibExpectation("core", vnet, 2, via=("core-ce1", "core-ce2")),
              FibExpectation("ergw", onprem, 2, via=("msee1-ergw", "msee2-ergw")),
              FibExpectation("ce1", vnet, via=("er-primary",)), FibExpectation("ce2", vnet, via=("er-secondary",)),
              FibExpectation("msee1", onprem, via=("er-primary",)), FibExpectation("msee2", onprem, via=("er-secondary",)),
              FibExpectation("vnet", onprem, via=("ergw-vnet",))]
