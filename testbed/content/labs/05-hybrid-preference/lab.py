"""Lab 5: hybrid - ExpressRoute preferred both ways, and the asymmetric path a more-specific
prefix on the VPN causes."""
from testbed.labs.lab import Lab, Task
from testbed.observe.checks import bgp_advertised, bgp_table, more_specific_leaks, path_through

VNET = "10.10.0.0/16"
ER, VPN = {"er-primary", "er-secondary"}, ("vpn-tunnel0", "vpn-tunnel1")


def er_preferred_onprem(net) -> list[str]:
    """core's paths to the VNet: those from ce1/ce2 must carry a higher local preference than vpn1's."""
    via = {n.addr: n.peer for n in net.topo.routers["core"].neighbors}
    prefs: dict[str, int] = {}
    for p in bgp_table(net, "core").get(VNET, []):
        prefs[via.get(p.get("peerId"), p.get("peerId"))] = p.get("locPrf", 100)
    er = [prefs[ce] for ce in ("ce1", "ce2") if ce in prefs]
    seen = ", ".join(f"{peer} {lp}" for peer, lp in sorted(prefs.items())) or "no paths"
    if len(er) == 2 and "vpn1" in prefs and min(er) > prefs["vpn1"]:
        return []
    return [f"core's paths to {VNET} have local preference: {seen} "
            "(ExpressRoute's must be higher than the VPN's, and the VPN must stay as a backup)"]


def symmetric_over_er(net) -> list[str]:
    return path_through(net, "h1", net.topo.address("vm1"), ER)


def no_more_specific_over_vpn(net) -> list[str]:
    vpn = [p for label in VPN for p in bgp_advertised(net, "vpn1", label)]
    er = [p for ce, label in (("ce1", "er-primary"), ("ce2", "er-secondary")) for p in bgp_advertised(net, ce, label)]
    return more_specific_leaks(set(vpn), set(er))


LAB = Lab(
    title="Hybrid: ExpressRoute preferred both ways, no asymmetric path",
    topology="hybrid",
    params={"er.ce_interconnect": False},   # the two edge routers stand alone, as in the README
    tasks=[
        Task("on-prem prefers ExpressRoute: core's VNet routes from ce1/ce2 carry a higher local "
             "preference than vpn1's", er_preferred_onprem,
             hint="'show bgp ipv4 unicast 10.10.0.0/16' on core lists the paths from ce1, ce2 and vpn1 with "
                  "their localpref. Azure's guidance: e.g. 150 on routes learned over ExpressRoute (a route-map "
                  "'in' toward the MSEE on ce1 and ce2), the default 100 over the VPN. Look at vpn1's VPN-IN too."),
        Task("h1 <-> vm1 takes ExpressRoute in both directions", symmetric_over_er,
             hint="Azure picks the longest matching prefix first and only then prefers ExpressRoute. Compare "
                  "what vpn1 advertises to the gateways with what ce1 and ce2 advertise to the MSEEs: 'show bgp "
                  "ipv4 unicast neighbors 169.254.21.1 advertised-routes' on vpn1, and look at vnet: "
                  "'testbed vtysh vnet --name lab -c \"show ip route 10.20.1.10\"'."),
        Task("nothing on-prem is advertised over the VPN more specifically than over ExpressRoute",
             no_more_specific_over_vpn,
             hint="Advertise the same prefixes over both paths (the VPN as backup), or filter the VPN's "
                  "outbound advertisements to what ExpressRoute carries."),
    ],
)
