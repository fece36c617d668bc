"""Lab 2: active-active - both ExpressRoute links carry traffic (ECMP at the on-prem core)."""
from testbed.labs import checks as labchecks
from testbed.labs.lab import Lab, Task
from testbed.observe.checks import bgp_table, fib_nexthops

VNET = "10.10.0.0/16"
EDGES = {"10.20.255.2": "ce1", "10.20.255.6": "ce2"}   # core's iBGP neighbors


def er_paths(net) -> dict[str, dict]:
    """core's BGP paths to the VNet, by the edge router they came from."""
    return {EDGES[p["peerId"]]: p for p in bgp_table(net, "core").get(VNET, []) if p.get("peerId") in EDGES}


def same_preference(net) -> list[str]:
    want = net.topo.params["onprem.er_local_pref"]
    paths = er_paths(net)
    prefs = {ce: paths[ce].get("locPrf") if ce in paths else None for ce in ("ce1", "ce2")}
    if prefs == {"ce1": want, "ce2": want}:
        return []
    seen = ", ".join(f"from {ce} {lp if lp is not None else 'no path'}" for ce, lp in prefs.items())
    return [f"core's paths to {VNET} have local preference {seen}; the design says {want} on both"]


def multipath(net) -> list[str]:
    paths = er_paths(net)
    used = sorted(ce for ce, p in paths.items() if p.get("bestpath") or p.get("multipath"))
    if used == ["ce1", "ce2"]:
        return []
    return [f"core's BGP uses the path from {' and '.join(used) or 'nobody'} only "
            f"(paths known: {', '.join(sorted(paths)) or 'none'})"]


def traffic_on_both_links(net) -> list[str]:
    hops = fib_nexthops(net, "core", VNET)
    if hops != ["core-ce1", "core-ce2"]:
        return [f"core's kernel FIB has {VNET} via {', '.join(hops) or 'nothing'}"]
    return labchecks.flows_spread(net, "h1", net.topo.address("vm1"), "core", ["core-ce1", "core-ce2"])


LAB = Lab(
    title="Active-active: both ExpressRoute links carry traffic",
    topology="expressroute",
    params={"er.ce_interconnect": False},   # the two edge routers stand alone, as in the README
    tasks=[
        Task("core gives the VNet routes from ce1 and ce2 the same local preference (150)",
             same_preference,
             hint="'show bgp ipv4 unicast 10.10.0.0/16' on core shows each path's localpref. The edge routers "
                  "set it with route-map ER-IN on routes from the MSEE: compare ce1's and ce2's "
                  "('show route-map ER-IN', 'show running-config')."),
        Task("core's BGP uses both paths (multipath)",
             multipath,
             hint="BGP installs one best path unless 'maximum-paths' allows more: under router bgp 65020, "
                  "address-family ipv4 unicast. The paths come over iBGP (ce1/ce2 -> core): that is "
                  "'maximum-paths ibgp N'. 'show bgp ipv4 unicast 10.10.0.0/16' marks them 'multipath'."),
        Task("traffic from h1 to vm1 leaves core over both ce1 and ce2 (ECMP in the kernel FIB)",
             traffic_on_both_links,
             hint="'testbed exec core --name lab -- ip route show 10.10.0.0/16' should list two nexthops. The kernel "
                  "hashes each flow (addresses and ports) onto one of them: the check sends 32 UDP flows."),
    ],
)
