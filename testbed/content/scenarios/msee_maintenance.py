"""Azure maintenance on the primary link: msee1 prepends its AS toward ce1, so on-prem moves
its traffic to the secondary before anything breaks (a graceful drain), and back afterwards.
Both paths stay up throughout, so at most a packet or so may be lost while the FIBs change.
Only on-prem -> Azure is drained: the prepend steers what on-prem chooses, not the gateway."""
from testbed.faults import AsPathPrepend
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import Scenario, Verdict, all_of, loss_at_most, moved_off, primary_leg, probe_directions

NAME = "msee-maintenance"

LOSS_MS = 10.0


def expect(net: Topology, t: Trial) -> Verdict:
    return all_of(moved_off(t, primary_leg(net, NAME).label, direction=probe_directions(net)[0]),
                  loss_at_most(t, LOSS_MS, "graceful drain"))


SCENARIO = Scenario(
    name=NAME,
    topology="expressroute",
    summary="msee1 prepends 12076 x3 toward ce1: on-prem drains the primary with at most 10 ms of loss",
    fault=lambda net: AsPathPrepend(primary_leg(net, NAME).b.node, primary_leg(net, NAME).label, times=3),
    expect=expect,
    trials=5,
    deadline_s=lambda p: 15.0,
)
