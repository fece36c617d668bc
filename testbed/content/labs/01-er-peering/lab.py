"""Lab 1: ExpressRoute private peering - bring up eBGP from ce1 and ce2 to the MSEEs."""
from testbed.labs import checks as labchecks
from testbed.labs.lab import Lab, Task
from testbed.observe.checks import fib_nexthops

VNET = "10.10.0.0/16"


def both_links_reach_the_vnet(net) -> list[str]:
    wrong = []
    hops = fib_nexthops(net, "core", VNET)
    if hops != ["core-ce1", "core-ce2"]:
        wrong.append(f"core forwards {VNET} over {', '.join(hops) or 'nothing'}, not over both ce1 and ce2")
    if not net.ping("h1", net.topo.address("vm1")):
        wrong.append(f"h1 cannot ping vm1 ({net.topo.address('vm1')})")
    return wrong


LAB = Lab(
    title="ExpressRoute private peering",
    topology="expressroute",
    # the edge routers stand alone, as in the README; BFD is lab 3 (the model says so too)
    params={"er.ce_interconnect": False, "onprem.bfd": False},
    tasks=[
        Task("ce1 peers with msee1 over the ER primary link",
             lambda net: labchecks.session_up(net, "ce1", "er-primary"),
             hint="The primary link is the first /30 of 192.168.100.128/29; the customer takes the first "
                  "usable address, Microsoft the second. Microsoft's AS is 12076. On ce1: 'router bgp 65020' "
                  "then 'neighbor <msee1's address> remote-as 12076'. 'show interface brief' shows ce1's own."),
        Task("ce2 peers with msee2 over the ER secondary link",
             lambda net: labchecks.session_up(net, "ce2", "er-secondary"),
             hint="'show bgp neighbors' on ce2 says why the session fails (look for 'Last reset' and the "
                  "notification). On-prem peers with the MSEE (AS 12076), never with the VNet's gateway (65515)."),
        Task("core reaches the VNet over both ExpressRoute links, and h1 pings vm1",
             both_links_reach_the_vnet,
             hint="core learns the VNet (10.10.0.0/16) from ce1 and ce2 over iBGP once both peerings are up: "
                  "'show ip route 10.10.0.0/16' on core should list two next hops."),
    ],
)
