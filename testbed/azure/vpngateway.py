"""The Azure VPN gateway for site-to-site VPN: instances with a public address, an IPsec tunnel
and a BGP session each, the on-prem VPN device (vpn1) and the internet between them
(docs/azure.md#site-to-site-vpn-gateway, docs/azure.md#ipsec-and-ike)."""
from __future__ import annotations

import ipaddress

from testbed.azure.addressing import subnet
from testbed.azure.prefix_limit import PrefixLimitRetry
from testbed.errors import TestbedError
from testbed.model.params import Params, network
from testbed.model.topo import FibExpectation, RouteMap, Topology, Tunnel

# APIPA ranges Azure accepts for custom BGP addresses: 169.254.21.0-169.254.22.255.
APIPA = ("169.254.21.0/30", "169.254.22.0/30")


def validate(p: Params) -> None:
    if p["vpn.bgp_peering"] not in ("apipa", "gatewaysubnet"):
        raise TestbedError(f"vpn.bgp_peering is {p['vpn.bgp_peering']!r}: use 'apipa' or 'gatewaysubnet'.")
    if not 9 <= p["vpn.dpd_timeout_s"] <= 3600:
        raise TestbedError("vpn.dpd_timeout_s must be within Azure's 9-3600 s: fix the value.")
    if p["vpngw.instances"] not in (1, 2):
        raise TestbedError("vpngw.instances must be 1 or 2 (active-active): fix the value.")
    network(p, "inet.prefix")


def bgp_addresses(p: Params, i: int) -> tuple[str, str]:
    """(Azure's, on-prem's) BGP address for tunnel ``i``."""
    if p["vpn.bgp_peering"] == "apipa":
        net = ipaddress.IPv4Network(APIPA[i])
        return str(net.network_address + 1), str(net.network_address + 2)
    # An address in the GatewaySubnet per instance; on-prem's from its own link pool.
    gw = ipaddress.IPv4Network(p["vnet.gateway_subnet"])
    onprem = ipaddress.IPv4Network(p["onprem.links"])
    return str(gw.broadcast_address - 1 - i), str(onprem.broadcast_address - 1 - i)


def add_vpn(t: Topology, p: Params, instances: int | None = None) -> None:
    """vpn1 (on-prem VPN device), inet, vpngw0.. and their tunnels, attached to core and vnet."""
    n = p["vpngw.instances"] if instances is None else instances
    t.router("vpn1", asn=p["onprem.asn"], role="onprem", router_id="10.255.0.20", maximum_paths=2,
             route_maps=[RouteMap("VPN-IN", [f"set local-preference {p['onprem.vpn_local_pref']}"])])
    t.router("inet", asn=64496, role="internet", router_id="10.255.3.1", daemons=("zebra",))
    c = t.link("core", "vpn1", subnet(t, "onprem.links", "core-vpn1"), label="core-vpn1")
    t.ebgp(c, "core-vpn1", a_opts={}, b_opts={"next_hop_self": True})
    uplink = t.link("inet", "vpn1", subnet(t, "inet.prefix", "inet-vpn1"), label="inet-vpn1")
    # The outer default route is FRR's static: it comes back after a link flap.
    t.routers["vpn1"].statics.append(("0.0.0.0/0", str(uplink.a.addr.ip)))

    for i in range(n):
        gw = f"vpngw{i}"
        t.router(gw, asn=p["vpngw.asn"], role="azure", router_id=f"10.255.1.{10 + i}")
        pub = t.link("inet", gw, subnet(t, "inet.prefix", f"inet-{gw}"), label=f"inet-{gw}")
        t.routers[gw].statics.append(("0.0.0.0/0", str(pub.a.addr.ip)))
        azure_bgp, onprem_bgp = bgp_addresses(p, i)
        tunnel = Tunnel(label=f"vpn-tunnel{i}", onprem="vpn1", azure=gw,
                        onprem_outer=str(uplink.b.addr.ip), azure_outer=str(pub.b.addr.ip),
                        onprem_inner=onprem_bgp, azure_inner=azure_bgp,
                        onprem_tun=f"ipsec{i}", azure_tun="ipsec0",
                        # two charons share vpn1: the second binds other IKE ports
                        onprem_ports=(500, 4500) if i == 0 else (1500 + i - 1, 14500 + i - 1))
        t.tunnels.append(tunnel)
        t.path(tunnel.label)
        # The /32 to the peer's BGP address goes through the tunnel (Azure's documented need).
        t.routers["vpn1"].statics.append((f"{azure_bgp}/32", tunnel.onprem_tun))
        t.routers[gw].statics.append((f"{onprem_bgp}/32", tunnel.azure_tun))
        t.session("vpn1", onprem_bgp, gw, azure_bgp, f"vpn-tunnel{i}",
                  a_opts={"keepalive_s": p["vpngw.keepalive_s"], "hold_s": p["vpngw.hold_s"],
                          "multihop": 2, "update_source": onprem_bgp, "route_map_in": "VPN-IN"},
                  # With APIPA the on-prem side must initiate: the gateway only listens.
                  b_opts={"keepalive_s": p["vpngw.keepalive_s"], "hold_s": p["vpngw.hold_s"],
                          "multihop": 2, "update_source": azure_bgp,
                          "passive": p["vpn.bgp_peering"] == "apipa",
                          "max_prefix": p["vpngw.prefix_limit"]})
        v = t.link(gw, "vnet", subnet(t, "vnet.gateway_subnet", f"{gw}-vnet"), label=f"{gw}-vnet", a_host=2, b_host=1)
        t.ebgp(v, f"{gw}-vnet", a_opts={"next_hop_self": True}, b_opts={"weight": p["vnet.vpn_weight"]})
    t.behaviours.append(PrefixLimitRetry(tuple(f"vpngw{i}" for i in range(n)), p["msee.prefix_limit_retry_s"]))


def add_expectations(t: Topology, p: Params, vpn_primary: bool) -> None:
    """Both tunnels carry the VNet's routes on vpn1 (ECMP); with ``vpn_primary`` (no
    ExpressRoute) the VPN is the path both ways."""
    n = len(t.tunnels)
    t.fib += [FibExpectation("vpn1", p["vnet.prefix"], n, via=tuple(x.label for x in t.tunnels))]
    t.fib += [FibExpectation(x.azure, p["onprem.prefix"], via=(x.label,)) for x in t.tunnels]
    if vpn_primary:
        t.fib += [FibExpectation("core", p["vnet.prefix"], via=("core-vpn1",)),
                  FibExpectation("vnet", p["onprem.prefix"], n, via=tuple(f"{x.azure}-vnet" for x in t.tunnels))]
