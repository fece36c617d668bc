"""The ExpressRoute primary link flaps (carrier down 1 s, up 1 s, three times): every loss of
carrier fails over at once, and every return must not cost traffic either."""
from testbed.faults import LinkFlap
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import REACTION_MS, Scenario, Verdict, outage_below, primary_leg

NAME = "er-link-flap"


def expect(net: Topology, t: Trial) -> Verdict:
    return outage_below(t, REACTION_MS, "every flap is a carrier loss: no timer")


SCENARIO = Scenario(
    name=NAME,
    topology="expressroute",
    summary="ER primary flaps 3 times (1 s down, 1 s up): no gap of 100 ms or more",
    fault=lambda net: LinkFlap(primary_leg(net, NAME).label, cycles=3, period_s=2.0),
    expect=expect,
    trials=3,
    deadline_s=lambda p: 30.0,
)
