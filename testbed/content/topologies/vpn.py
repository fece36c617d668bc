"""Site-to-site VPN: IPsec/IKEv2 to an active-active Azure VPN gateway, BGP over both tunnels.

::

    h1 --- core --- vpn1 ====tunnel 0 (ipsec0)====+                +--- vpngw0 ---+
    (on-prem LAN)    |   \\                        \\              /               +--- vnet --- vm1
                     |    +--- inet (the internet: outer IPsec) --+--- vpngw1 ---+
                     |         ====tunnel 1 (ipsec1)============================/
      AS onprem.asn (65020)                                  AS vpngw.asn (65515)

- Two gateway instances, each with its own public address and its own tunnel and BGP session
  (active-active); IKEv2 with a pre-shared key generated per run, Azure's default proposals,
  DPD 45 s, tunnel MTU 1,400 and TCP MSS clamped to 1,350.
- BGP peers on APIPA addresses (169.254.21.x / 169.254.22.x) by default: on-prem initiates, the
  gateways are passive; each side routes the peer's /32 through its TUN device and uses eBGP
  multihop. Keepalive 60 / hold 180, no BFD (Azure supports none on S2S VPN).
"""
from __future__ import annotations

import ipaddress

from testbed.model.params import Params
from testbed.model.topo import FibExpectation, RouteMap, Topology, Tunnel, subnets
from testbed.content.topologies.expressroute import add_onprem, add_reach, add_vnet

# APIPA ranges Azure accepts for custom BGP addresses: 169.254.21.0-169.254.22.255 (azure-facts).
APIPA = ("169.254.21.0/30", "169.254.22.0/30")


def _bgp_addresses(p: Params, i: int) -> tuple[str, str]:
    """(Azure's, on-prem's) BGP address for tunnel ``i``."""
    if p["vpn.bgp_peering"] == "apipa":
        net = ipaddress.IPv4Network(APIPA[i])
        return str(net.network_address + 1), str(net.network_address + 2)
    # An address in the GatewaySubnet per instance; on-prem's from its own link pool.
    gw = ipaddress.IPv4Network(p["vnet.gateway_subnet"])
    onprem = ipaddress.IPv4Network(p["onprem.links"])
    return str(gw.broadcast_address - 1 - i), str(onprem.broadcast_address - 1 - i)


def add_vpn(t: Topology, p: Params, gw_links: list[ipaddress.IPv4Network]) -> None:
    """vpn1 (on-prem VPN device), inet, vpngw0/vpngw1 and their tunnels, attached to core and vnet."""
    t.router("vpn1", asn=p["onprem.asn"], role="onprem", router_id="10.255.0.20", maximum_paths=2,
             route_maps=[RouteMap("VPN-IN", [f"set local-preference {p['onprem.vpn_local_pref']}"])])
    t.router("inet", asn=64496, role="internet", router_id="10.255.3.1", daemons=("zebra",))
    core_links = list(subnets(p["onprem.links"], 30))
    c = t.link("core", "vpn1", core_links[-1], label="core-vpn1")   # the pool's end: clear of the CEs
    t.ebgp(c, "core-vpn1", a_opts={}, b_opts={"next_hop_self": True})
    public = subnets(p["inet.prefix"], 30)
    uplink = t.link("inet", "vpn1", next(public), label="inet-vpn1")
    # The outer default route is FRR's static: it comes back after a link flap.
    t.routers["vpn1"].statics.append(("0.0.0.0/0", str(uplink.a.addr.ip)))

    for i in range(p["vpngw.instances"]):
        gw = f"vpngw{i}"
        t.router(gw, asn=p["vpngw.asn"], role="azure", router_id=f"10.255.1.{10 + i}")
        pub = t.link("inet", gw, next(public), label=f"inet-{gw}")
        t.routers[gw].statics.append(("0.0.0.0/0", str(pub.a.addr.ip)))
        azure_bgp, onprem_bgp = _bgp_addresses(p, i)
        tunnel = Tunnel(label=f"vpn-tunnel{i}", onprem="vpn1", azure=gw,
                        onprem_outer=str(uplink.b.addr.ip), azure_outer=str(pub.b.addr.ip),
                        onprem_inner=onprem_bgp, azure_inner=azure_bgp,
                        onprem_tun=f"ipsec{i}", azure_tun="ipsec0",
                        # two charons share vpn1: the second binds other IKE ports (strongswan-notes)
                        onprem_ports=(500, 4500) if i == 0 else (1500 + i - 1, 14500 + i - 1))
        t.tunnels.append(tunnel)
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
        v = t.link(gw, "vnet", gw_links[i], label=f"{gw}-vnet", a_host=2, b_host=1)
        t.ebgp(v, f"{gw}-vnet", a_opts={"next_hop_self": True}, b_opts={"weight": p["vnet.vpn_weight"]})


def add_expectations(t: Topology, p: Params, vpn_primary: bool) -> None:
    n = p["vpngw.instances"]
    t.fib += [FibExpectation("vpn1", p["vnet.prefix"], n, via=tuple(f"vpn-tunnel{i}" for i in range(n)))]
    t.fib += [FibExpectation(f"vpngw{i}", p["onprem.prefix"], via=(f"vpn-tunnel{i}",)) for i in range(n)]
    if vpn_primary:
        t.fib += [FibExpectation("core", p["vnet.prefix"], via=("core-vpn1",)),
                  FibExpectation("vnet", p["onprem.prefix"], n, via=tuple(f"vpngw{i}-vnet" for i in range(n)))]


def build(p: Params) -> Topology:
    t = Topology("vpn", p)
    add_onprem(t, p)
    add_vnet(t, p)
    gw_links = list(subnets(p["vnet.gateway_subnet"], 30))
    add_vpn(t, p, gw_links[1:])
    add_expectations(t, p, vpn_primary=True)
    add_reach(t)
    return t
