"""The preferred ExpressRoute circuit fails silently (both its links drop everything, carrier
up): BFD detects it on both sides, its routes are withdrawn and traffic moves, in both
directions, to the next circuit on-prem prefers or, with none, to the site-to-site VPN; when
the circuit returns, traffic returns to it. Runs on any network with a circuit and somewhere
to fall back to (``--network``).

Microsoft's lab figure for this failover with BFD is "a few seconds (less than 10)"; here the
window is the BFD detection ((M-1)*I, M*I] plus the withdraw's way through at most three BGP
speakers per direction (ce/msee, core/an ergw instance, vnet)."""
from testbed.faults import Blackhole, Together
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    FRR_SPEAKER_MS,
    Scenario,
    Verdict,
    all_of,
    back_to_baseline,
    bfd_deadline_s,
    bfd_window,
    fallback,
    flows_only_on,
    outage_within,
)

NAME = "er-circuit-down"


def window(net: Topology, t: Trial) -> Verdict:
    reaction = 3 * FRR_SPEAKER_MS + 100  # three speakers, then the first packets through the userspace tunnel
    return outage_within(t, *bfd_window(net.params, reaction))


def moved_and_back(net: Topology, t: Trial, count: int, needs: str) -> Verdict:
    """With the ``count`` preferred circuits silent, traffic left the preferred one for the
    fallback within the window, and came back to it."""
    circuit = net.circuit_named(0, needs)[0] + "-"
    return all_of(flows_only_on(t, "before", circuit), flows_only_on(t, "during", fallback(net, count, needs)),
                  flows_only_on(t, "after", circuit), back_to_baseline(t), window(net, t))


def silent(net: Topology, count: int, needs: str) -> Together:
    """The ``count`` circuits on-prem prefers most drop everything on all their links."""
    names = [net.circuit_named(i, needs)[0] for i in range(count)]
    fallback(net, count, needs)  # refused before anything starts if there is nowhere to go
    return Together([Blackhole(leg) for name in names for leg in net.circuits[name]],
                    what=f"ExpressRoute circuit(s) {', '.join(names)}: every link silently drops everything (carrier up)")


def expect(net: Topology, t: Trial) -> Verdict:
    return moved_and_back(net, t, 1, NAME)


def fault(net: Topology) -> Together:
    return silent(net, 1, NAME)


SCENARIO = Scenario(
    name=NAME,
    topology="hybrid",
    summary="the preferred ExpressRoute circuit goes silent: traffic moves to the next circuit or the VPN, then back",
    fault=fault,
    expect=expect,
    trials=3,
    deadline_s=lambda p: bfd_deadline_s(p, 15),
)
