"""Every ExpressRoute circuit fails silently at once (all their links drop everything, carrier
up): traffic falls back to the site-to-site VPN in both directions, and returns to the
preferred circuit when they come back. The same window as ``er-circuit-down``: BFD detection
plus at most three BGP speakers per direction."""
from testbed.content.scenarios.er_circuit_down import window
from testbed.faults import Blackhole, Together
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import Scenario, Verdict, all_of, back_to_baseline, fallback, flows_only_on

NAME = "er-all-circuits-down"


def expect(net: Topology, t: Trial) -> Verdict:
    circuit = net.circuit_named(0, NAME)[0] + "-"
    return all_of(flows_only_on(t, "before", circuit),
                  flows_only_on(t, "during", fallback(net, len(net.circuits), NAME)),
                  flows_only_on(t, "after", circuit), back_to_baseline(t), window(net, t))


def fault(net: Topology) -> Together:
    net.circuit_named(0, NAME)
    fallback(net, len(net.circuits), NAME)
    return Together([Blackhole(leg) for legs in net.circuits.values() for leg in legs],
                    what=f"every ExpressRoute circuit ({', '.join(net.circuits)}): all links silently drop everything")


SCENARIO = Scenario(
    name=NAME,
    topology="hybrid",
    summary="every ExpressRoute circuit goes silent: traffic falls back to the VPN, then returns",
    fault=fault,
    expect=expect,
    trials=3,
    deadline_s=lambda p: p["bfd.interval_ms"] * p["bfd.multiplier"] / 1000 + 15,
)
