"""Carrier loss on the ExpressRoute primary link: the kernel flushes the link's next hops and
FRR's fast-external-failover drops the eBGP session at once, with no timer involved; what is
left is FRR's own processing in the one BGP speaker that reroutes through its twin (REACTION_MS)."""
from testbed.faults import LinkDown
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import REACTION_MS, Scenario, Verdict, all_of, moved_off, outage_below, primary_leg

NAME = "er-primary-link-down"


def expect(net: Topology, t: Trial) -> Verdict:
    return all_of(moved_off(t, primary_leg(net, NAME).label),
                  outage_below(t, REACTION_MS, "carrier loss: no timer, FRR processing only"))


SCENARIO = Scenario(
    name=NAME,
    topology="expressroute",
    summary="ER primary loses carrier: traffic on the secondary in under 100 ms (FRR's processing in one speaker)",
    fault=lambda net: LinkDown(primary_leg(net, NAME).label),
    expect=expect,
    trials=10,
    deadline_s=lambda p: 10.0,
)
