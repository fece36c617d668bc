"""Silent failure of the ExpressRoute primary link with BFD off: only the BGP hold timer
notices, in (hold - keepalive, hold] after the last keepalive got through."""
from testbed.faults import Blackhole
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import REACTION_MS, Scenario, Verdict, all_of, moved_off, outage_within, primary_leg

NAME = "er-primary-blackhole-no-bfd"


def expect(net: Topology, t: Trial) -> Verdict:
    p = net.params
    ka, hold = p["onprem.keepalive_s"], p["onprem.hold_s"]
    return all_of(moved_off(t, primary_leg(net, NAME).label),
                  outage_within(t, (hold - ka) * 1000, hold * 1000 + REACTION_MS,
                                f"hold timer {ka}/{hold} s + {REACTION_MS:g} ms reaction"))


SCENARIO = Scenario(
    name=NAME,
    topology="expressroute",
    summary="ER primary silently drops everything, no BFD: the hold timer (3/10 s) moves traffic",
    # The lowest timers Azure accepts (3/10 s); the MSEE negotiates down to the customer's hold.
    params={"onprem.bfd": False, "bfd.enabled": False, "onprem.keepalive_s": 3, "onprem.hold_s": 10},
    fault=lambda net: Blackhole(primary_leg(net, NAME).label),
    expect=expect,
    trials=3,
    deadline_s=lambda p: p["onprem.hold_s"] + 10,
)
