"""On-prem leaks more prefixes than ExpressRoute accepts (ce1 originates limit + 100 /24s):
msee1 drops the session (a Cease NOTIFICATION, no timer), traffic moves to the secondary;
withdrawing the leak lets the MSEE bring the session back (after msee.prefix_limit_retry_s).

Run without the CE interconnect: over it, ce2 would learn the leak by iBGP and pass it to msee2
as well, and both sessions would drop (the whole circuit: what a leak does to a CE pair with no
outbound prefix filter toward the MSEEs; `testbed lint` flags that)."""
from testbed.faults import PrefixFlood
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import Scenario, Verdict, all_of, moved_off, outage_below, primary_leg

NAME = "prefix-limit-exceeded"

LIMIT_MS = 1000.0  # the drop is immediate, but ce1 and core are busy installing the leak


def expect(net: Topology, t: Trial) -> Verdict:
    p = net.params
    return all_of(moved_off(t, primary_leg(net, NAME).label),
                  outage_below(t, LIMIT_MS, f"session dropped past {p.prefix_limit()} prefixes"))


SCENARIO = Scenario(
    name=NAME,
    topology="expressroute",
    summary="ce1 leaks more than 4,000 prefixes: msee1 drops the session, traffic moves to the secondary",
    fault=lambda net: PrefixFlood(primary_leg(net, NAME).a.node, count=net.params.prefix_limit() + 100),
    params={"er.ce_interconnect": False},
    expect=expect,
    trials=3,
    deadline_s=lambda p: 60.0,
)
