"""Azure maintenance on one ExpressRoute gateway instance: ergw0 is taken offline, its BGP
sessions (to the VNet and to each MSEE) shut down administratively, a Cease NOTIFICATION that
its peers act on at once. Azure maintains the instances one at a time, so ergw1 stays and
carries everything; the gateway "will not experience any downtime" (docs/azure.md#expressroute-gateway).

The flows hashed onto ergw0 see a short gap in each direction: ergw0's bgpd drops the routes
of the first session shut and withdraws them (one FRR speaker), and its peers (the VNet router
for Azure -> on-prem, the MSEEs for on-prem -> Azure) take ergw0 out of their ECMP (a second).
The probes cannot tell the instances apart (paths are marked on-prem, docs/measurement.md), so
the outage bound is the claim: a flow left on the instance in maintenance would lose everything."""
from testbed.trials.scenario import Scenario, er_instances, maintained, maintenance

NAME = "ergw-maintenance"

SCENARIO = Scenario(
    name=NAME,
    topology="expressroute",
    summary="ExpressRoute gateway instance ergw0 in maintenance (BGP shut down): its flows move to ergw1 within 160 ms",
    fault=lambda net: maintenance(net, er_instances(net, NAME)[0]),
    expect=lambda net, t: maintained(t),
    trials=5,
)
