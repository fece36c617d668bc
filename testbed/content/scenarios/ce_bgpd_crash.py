"""bgpd on ce1 dies (SIGKILL): zebra removes its routes and the peers see the TCP sessions
close, so both directions leave the primary without waiting for a timer; restore starts bgpd
again and the sessions come back."""
from testbed.faults import DaemonKill
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import REACTION_MS, Scenario, Verdict, all_of, moved_off, outage_below, primary_leg

NAME = "ce-bgpd-crash"


def expect(net: Topology, t: Trial) -> Verdict:
    return all_of(moved_off(t, primary_leg(net, NAME).label),
                  outage_below(t, REACTION_MS, "the sessions close with the process: no timer"))


SCENARIO = Scenario(
    name=NAME,
    topology="expressroute",
    summary="bgpd on ce1 is killed: traffic leaves the primary at once, and returns once bgpd restarts",
    fault=lambda net: DaemonKill(primary_leg(net, NAME).a.node, "bgpd"),
    expect=expect,
    trials=5,
    deadline_s=lambda p: 15.0,
)
