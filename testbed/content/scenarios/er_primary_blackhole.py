"""Silent failure of the ExpressRoute primary link (carrier up, every packet dropped at ce1):
BFD declares the peer down after M missed intervals, BGP withdraws, the FIBs follow.

BFD detection of a silent failure falls in ((M-1)*I, M*I] (transmit jitter 75-100 % of I);
each direction is detected by its own side (ce1 for on-prem -> Azure, msee1 for the reverse).

The reaction allowance is one BGP speaker per direction: it needs the CE and MSEE interconnects
(er.ce_interconnect, er.msee_interconnect, the defaults; testbed additions). Without them two
speakers react in series (about 120 ms) and a detection late in the BFD window ends past the
bound (docs/azure.md#what-the-testbed-adds)."""
from testbed.faults import Blackhole
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    REACTION_MS,
    Scenario,
    Verdict,
    all_of,
    bfd_deadline_s,
    bfd_window,
    moved_off,
    outage_within,
    primary_leg,
)

NAME = "er-primary-blackhole"


def expect(net: Topology, t: Trial) -> Verdict:
    return all_of(moved_off(t, primary_leg(net, NAME).label), outage_within(t, *bfd_window(net.params, REACTION_MS)))


SCENARIO = Scenario(
    name=NAME,
    topology="expressroute",
    summary="the preferred circuit's primary link silently drops everything: BFD moves traffic to the secondary",
    fault=lambda net: Blackhole(primary_leg(net, NAME).label),
    expect=expect,
    trials=20,
    deadline_s=lambda p: bfd_deadline_s(p, 10),
)
