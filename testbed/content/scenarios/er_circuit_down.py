"""The whole ExpressRoute circuit fails silently (both links drop everything, carrier up): BFD
detects it on both sides, ER routes are withdrawn and traffic falls back to the site-to-site
VPN in both directions; when the circuit returns, traffic returns to ExpressRoute.

Microsoft's lab figure for this failover with BFD is "a few seconds (less than 10)"; here the
window is the BFD detection ((M-1)*I, M*I] plus the withdraw's way through three BGP speakers
per direction (ce/msee, core/ergw, vnet)."""
from testbed.faults import Blackhole, Together
from testbed.model.params import Params
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    FRR_SPEAKER_MS,
    Scenario,
    Verdict,
    all_of,
    back_to_baseline,
    flows_only_on,
    outage_within,
)


def expect(p: Params, t: Trial) -> Verdict:
    i, m = p["bfd.interval_ms"], p["bfd.multiplier"]
    reaction = 3 * FRR_SPEAKER_MS + 100  # three speakers, then the first packets through the userspace tunnel
    return all_of(flows_only_on(t, "before", "er-"), flows_only_on(t, "during", "vpn-"),
                  flows_only_on(t, "after", "er-"), back_to_baseline(t),
                  outage_within(t, (m - 1) * i, m * i + reaction, f"BFD {i} ms x {m} + {reaction:g} ms reaction"))


SCENARIO = Scenario(
    name="er-circuit-down",
    topology="hybrid",
    summary="both ExpressRoute links go silent: fallback to the VPN, then failback to ER",
    fault=lambda p: Together([Blackhole("er-primary"), Blackhole("er-secondary")],
                             what="ExpressRoute circuit: both links silently drop everything (carrier up)"),
    expect=expect,
    trials=3,
    deadline_s=lambda p: p["bfd.interval_ms"] * p["bfd.multiplier"] / 1000 + 15,
)
