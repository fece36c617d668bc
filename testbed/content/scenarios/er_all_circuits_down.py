"""Every ExpressRoute circuit fails silently at once (all their links drop everything, carrier
up): traffic falls back to the site-to-site VPN in both directions, and returns to the
preferred circuit when they come back. The same window as ``er-circuit-down``: BFD detection
plus at most three BGP speakers per direction."""
from testbed.content.scenarios.er_circuit_down import moved_and_back, silent
from testbed.trials.scenario import Scenario

NAME = "er-all-circuits-down"

SCENARIO = Scenario(
    name=NAME,
    topology="hybrid",
    summary="every ExpressRoute circuit goes silent: traffic falls back to the VPN, then returns",
    fault=lambda net: silent(net, max(1, len(net.circuits)), NAME),
    expect=lambda net, t: moved_and_back(net, t, len(net.circuits), NAME),
    trials=3,
    deadline_s=lambda p: p["bfd.interval_ms"] * p["bfd.multiplier"] / 1000 + 15,
)
