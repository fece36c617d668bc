"""Lab 4: site-to-site VPN with BGP over IPsec - APIPA peers, /32 routes, eBGP multihop."""
from testbed.labs import checks as labchecks
from testbed.labs.lab import Lab, Task
from testbed.observe.checks import fib_nexthops, path_through

VNET = "10.10.0.0/16"
TUNNELS = ["vpn-tunnel0", "vpn-tunnel1"]


def host_routes(net) -> list[str]:
    wrong = []
    for t in net.topo.tunnels:
        hops = fib_nexthops(net, "vpn1", f"{t.azure_inner}/32")
        if hops != [t.label]:
            wrong.append(f"vpn1 routes {t.azure_inner}/32 ({t.azure}'s BGP address) over "
                         f"{', '.join(hops) or 'nothing'}, not {t.onprem_tun} ({t.label})")
    return wrong


def sessions(net) -> list[str]:
    return [p for label in TUNNELS for p in labchecks.session_up(net, "vpn1", label)]


def vnet_over_both_tunnels(net) -> list[str]:
    hops = fib_nexthops(net, "vpn1", VNET)
    if hops != TUNNELS:
        return [f"vpn1 forwards {VNET} over {', '.join(hops) or 'nothing'}, not over both tunnels"]
    return path_through(net, "h1", net.topo.address("vm1"), TUNNELS)


LAB = Lab(
    title="Site-to-site VPN with BGP over IPsec",
    topology="vpn",
    tasks=[
        Task("vpn1 routes each Azure BGP address (169.254.21.1, 169.254.22.1) as a /32 into its tunnel",
             host_routes,
             hint="The APIPA addresses are not on a shared subnet: each tunnel device (ipsec0, ipsec1) has only "
                  "vpn1's own /32. Azure's docs: on-prem needs a /32 route to the Azure BGP peer through the "
                  "tunnel, e.g. 'ip route 169.254.21.1/32 ipsec0'. 'testbed exec vpn1 --name lab -- ip addr' lists them."),
        Task("vpn1's BGP sessions to both gateway instances are Established",
             sessions,
             hint="Instance 1 is 169.254.22.1 (AS 65515). A peer that is not directly connected needs "
                  "'neighbor X ebgp-multihop 2' (and 'update-source' with vpn1's APIPA address of that "
                  "tunnel). With APIPA, Azure only listens: on-prem must initiate."),
        Task("the VNet is reached over both tunnels, both ways (h1 <-> vm1)",
             vnet_over_both_tunnels,
             hint="Once both sessions are up, vpn1 learns 10.10.0.0/16 from both instances; "
                  "'maximum-paths' lets it use both. 'show ip route 10.10.0.0/16' on vpn1."),
    ],
)
