"""The Azure VPN gateway for site-to-site VPN: instances with a public address, an IPsec tunnel
and a BGP session each, the on-prem VPN device (vpn1) and the internet between them
(docs/azure.md#site-to-site-vpn-gateway, docs/azure.md#ipsec-and-ike)."""
from __future__ import annotations

import ipaddress

from testbed.azure.addressing import RouterIds, subnet
from testbed.azure.prefix_limit import PrefixLimitRetry
from testbed.azure.standby import add_standby
from testbed.daemons.xfrm import DATAPLANES
from testbed.errors import TestbedError
from testbed.model.network.schema import NetworkFile
from testbed.model.params import Params, network
from testbed.model.topo import FibExpectation, RouteMap, Topology, Tunnel

# APIPA ranges Azure accepts for custom BGP addresses: 169.254.21.0-169.254.22.255.
APIPA = ("169.254.21.0/30", "169.254.22.0/30")


def validate(p: Params) -> None:
    if p["vpn.bgp_peering"] not in ("apipa", "gatewaysubnet"):
        raise TestbedError(f"vpn.bgp_peering is {p['vpn.bgp_peering']!r}: use 'apipa' or 'gatewaysubnet'.")
    if p["vpn.dataplane"] not in DATAPLANES:
        raise TestbedError(f"vpn.dataplane is {p['vpn.dataplane']!r}: use {', '.join(map(repr, DATAPLANES))}.")
    if not 9 <= p["vpn.dpd_timeout_s"] <= 3600:
        raise TestbedError("vpn.dpd_timeout_s must be within Azure's 9-3600 s: fix the value.")
    if p["vpngw.instances"] not in (1, 2):
        raise TestbedError("vpngw.instances must be 1 (active-standby) or 2 (active-active): fix the value.")
    for key in ("vpngw.takeover_planned_s", "vpngw.takeover_unplanned_s"):
        if not 0 <= p[key] <= 600:
            raise TestbedError(f"{key} is {p[key]:g}: give 0-600 s (Azure: 10-15 s planned, 1-3 min unplanned).")
    network(p, "inet.prefix")


def peering(p: Params, net: NetworkFile) -> str:
    """How the gateway peers: ``apipa`` or ``gatewaysubnet`` (the file's, else the parameter)."""
    assert net.vpn is not None
    return net.vpn.gateways[0].bgp_peering or p["vpn.bgp_peering"]


def instances(p: Params, net: NetworkFile) -> int:
    """The gateway's active instances: 2 (active-active) or 1 (active-standby)."""
    assert net.vpn is not None
    return net.vpn.gateways[0].instances or p["vpngw.instances"]


def has_standby(p: Params, net: NetworkFile) -> bool:
    assert net.vpn is not None
    standby = net.vpn.gateways[0].standby
    return instances(p, net) == 1 and (p["vpngw.standby"] if standby is None else standby)


def gateway_bgp(p: Params, net: NetworkFile) -> list[str]:
    """Each instance's BGP address: the file's, else APIPA 169.254.21.1 / 169.254.22.1, else
    (``gatewaysubnet``) the GatewaySubnet's .4 and .5, the first addresses Azure does not reserve
    (docs/azure.md#site-to-site-vpn-gateway)."""
    assert net.vpn is not None
    gw = net.vpn.gateways[0]
    if gw.bgp_addresses:
        return [str(a) for a in gw.bgp_addresses]
    n = instances(p, net)
    if peering(p, net) == "apipa":
        return [str(ipaddress.IPv4Network(APIPA[i]).network_address + 1) for i in range(n)]
    subnet = next(v for v in net.vnets if v.name == gw.vnet).gw_subnet(p)
    return [str(subnet.network_address + 4 + i) for i in range(n)]


def device_bgp(p: Params, net: NetworkFile, router_id: str, i: int) -> str:
    """The on-prem device's BGP address on tunnel ``i``: the local gateway's, else APIPA .2 of
    the instance's /30, else (``gatewaysubnet``) its router id, which it also gets on a loopback."""
    assert net.vpn is not None
    lng = net.vpn.local_gateways[0]
    if lng.bgp_address:
        return str(lng.bgp_address)
    if peering(p, net) == "apipa":
        return str(ipaddress.IPv4Network(APIPA[i]).network_address + 2)
    return router_id


def add_vpn(t: Topology, p: Params, net: NetworkFile, ids: RouterIds) -> None:
    """The internet (inet), the gateway's instances and a tunnel with BGP from the local
    gateway's router (the on-prem VPN device, already in ``t``) to each instance."""
    assert net.vpn is not None
    gw, lng, conn = net.vpn.gateways[0], net.vpn.local_gateways[0], net.vpn.connections[0]
    vnet = next(v for v in net.vnets if v.name == gw.vnet)
    mode = peering(p, net)
    device = t.routers[lng.router]
    device.route_maps.append(RouteMap("VPN-IN", [f"set local-preference {p['onprem.vpn_local_pref']}"]))
    t.router("inet", asn=64496, role="internet", router_id=ids.take("10.255.3.1", "10.255.3.0/24"), daemons=("zebra",))
    uplink = t.link("inet", device.name, subnet(t, "inet.prefix", f"inet-{device.name}"), label=f"inet-{device.name}")
    # The outer default route is FRR's static: it comes back after a link flap.
    device.statics.append(("0.0.0.0/0", str(uplink.a.addr.ip)))
    names = [f"{gw.name}{i}" for i in range(instances(p, net))]
    for i, name in enumerate(names):
        t.router(name, asn=gw.asn or p["vpngw.asn"], role="azure", router_id=ids.take(f"10.255.1.{10 + i}", "10.255.1.0/24"))
        pub = t.link("inet", name, subnet(t, "inet.prefix", f"inet-{name}"), label=f"inet-{name}")
        t.routers[name].statics.append(("0.0.0.0/0", str(pub.a.addr.ip)))
        azure_bgp, onprem_bgp = gateway_bgp(p, net)[i], device_bgp(p, net, device.router_id, i)
        if onprem_bgp == device.router_id and f"{onprem_bgp}/32" not in device.loopbacks:
            device.loopbacks.append(f"{onprem_bgp}/32")
        tunnel = Tunnel(label=f"{conn.name}-tunnel{i}", onprem=device.name, azure=name,
                        onprem_outer=str(uplink.b.addr.ip), azure_outer=str(pub.b.addr.ip),
                        onprem_inner=onprem_bgp, azure_inner=azure_bgp,
                        onprem_tun=f"ipsec{i}", azure_tun="ipsec0",
                        # two charons share the device: the second binds other IKE ports
                        onprem_ports=(500, 4500) if i == 0 else (1500 + i - 1, 14500 + i - 1))
        t.tunnels.append(tunnel)
        t.path(tunnel.label)
        # The /32 to the peer's BGP address goes through the tunnel (Azure's documented need).
        device.statics.append((f"{azure_bgp}/32", tunnel.onprem_tun))
        t.routers[name].statics.append((f"{onprem_bgp}/32", tunnel.azure_tun))
        # the local network gateway's address space: static routes into the tunnel, which the
        # instance hands to the VNet like the ones it learns by BGP
        t.routers[name].statics += [(str(n), tunnel.azure_tun) for n in lng.address_space]
        t.routers[name].networks += [str(n) for n in lng.address_space]
        t.session(device.name, onprem_bgp, name, azure_bgp, tunnel.label,
                  a_opts={"keepalive_s": p["vpngw.keepalive_s"], "hold_s": p["vpngw.hold_s"],
                          "multihop": 2, "update_source": onprem_bgp, "route_map_in": "VPN-IN"},
                  # With APIPA the on-prem side must initiate: the gateway only listens.
                  b_opts={"keepalive_s": p["vpngw.keepalive_s"], "hold_s": p["vpngw.hold_s"],
                          "multihop": 2, "update_source": azure_bgp,
                          "passive": mode == "apipa",
                          "max_prefix": p["vpngw.prefix_limit"]})
        label = f"{name}-{vnet.name}"
        v = t.link(name, vnet.name, subnet(t, "vnet.gateway_subnet", label, vnet.gw_subnet(p)), label=label,
                   a_host=2, b_host=1)
        t.ebgp(v, label, a_opts={"next_hop_self": True}, b_opts={"weight": p["vnet.vpn_weight"]})
    if has_standby(p, net):
        names.append(f"{gw.name}1")
        add_standby(t, names[0], names[1], t.tunnels[-1])
    t.behaviours.append(PrefixLimitRetry(tuple(names), p["vpngw.prefix_limit_retry_s"]))


def add_expectations(t: Topology, p: Params, net: NetworkFile, vnet_prefix: str, onprem_prefix: str) -> None:
    """Every tunnel carries the VNet's routes on the device (ECMP) and on-prem's on its
    instance; without ExpressRoute the VNet reaches on-prem over every instance."""
    assert net.vpn is not None
    device = net.vpn.local_gateways[0].router
    n = len(t.tunnels)
    t.fib += [FibExpectation(device, vnet_prefix, n, via=tuple(x.label for x in t.tunnels))]
    t.fib += [FibExpectation(x.azure, onprem_prefix, via=(x.label,)) for x in t.tunnels]
    if not net.expressroute:
        vnet = net.vpn.gateways[0].vnet
        t.fib.append(FibExpectation(vnet, onprem_prefix, n, via=tuple(f"{x.azure}-{vnet}" for x in t.tunnels)))
