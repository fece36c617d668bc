"""Lab 6: incident - the ExpressRoute sessions keep dropping (over the MSEE's prefix limit)."""
import ipaddress

from testbed.labs import checks as labchecks
from testbed.labs.lab import Lab, Task
from testbed.observe.checks import bgp_received

BRANCHES = ipaddress.IPv4Network("10.128.0.0/12")
LEGS = (("ce1", "msee1", "er-primary"), ("ce2", "msee2", "er-secondary"))


def sessions_stay_up(net) -> list[str]:
    # longer than the MSEE takes to retry a session it dropped: a flap cannot hide in between
    stable_s = 2 * net.topo.params["msee.prefix_limit_retry_s"]
    return [p for ce, _, label in LEGS for p in labchecks.session_up(net, ce, label, min_up_s=stable_s)]


def branches_summarised(net) -> list[str]:
    wrong = []
    for _, msee, label in LEGS:
        got = [ipaddress.IPv4Network(p) for p in bgp_received(net, msee, label)]
        if not any(BRANCHES.subnet_of(p) for p in got):
            parts = sum(p.subnet_of(BRANCHES) for p in got)
            wrong.append(f"{msee} has no route covering the branches ({BRANCHES}) from on-prem"
                         + (f", only {parts} of its parts" if parts else ""))
    return wrong


LAB = Lab(
    title="Incident: the ExpressRoute sessions keep dropping",
    topology="expressroute",
    params={"er.ce_interconnect": False},   # the two edge routers stand alone, as in the README
    tasks=[
        Task("both ExpressRoute sessions stay up (Established for 10 s and more)", sessions_stay_up,
             hint="Find out why they drop: 'show bgp neighbors 192.168.100.130' on ce1 (Last reset, the "
                  "notification), or the logs: 'testbed exec ce1 --name lab -- grep NOTIFICATION /run/testbed/lab/ce1/frr.log' "
                  "and 'grep MAXPFX' in msee1's. Then count what on-prem advertises: 'show bgp ipv4 unicast "
                  "summary' on ce1 and on core."),
        Task("Azure still learns the branch offices, as one summary (10.128.0.0/12)", branches_summarised,
             hint="Azure accepts at most 4,000 prefixes per private peering (10,000 with Premium) and drops the "
                  "session above that. Summarise where the routes come from: 'aggregate-address ... summary-only' "
                  "under address-family ipv4 unicast sends the summary instead of its parts."),
    ],
)
