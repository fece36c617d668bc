"""The classic pitfall: on-prem advertises a more-specific prefix (the h1 LAN /24) over the VPN
only. Azure routes by longest prefix first, so Azure-to-on-prem traffic for that /24 moves to
the VPN while on-prem-to-Azure stays on ExpressRoute: asymmetric paths, which a stateful
firewall on either side would break. The scenario detects the asymmetry."""
from testbed.faults import MoreSpecific
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import Scenario, Verdict, all_of, back_to_baseline, flows_only_on


def expect(net: Topology, t: Trial) -> Verdict:
    onprem_to_azure = next(d for d in t.directions if d.startswith("h1"))
    azure_to_onprem = next(d for d in t.directions if d.startswith("vm1"))
    return all_of(flows_only_on(t, "during", "er-", onprem_to_azure),
                  flows_only_on(t, "during", "vpn-", azure_to_onprem),
                  flows_only_on(t, "after", "er-"), back_to_baseline(t),
                  Verdict(True, "asymmetric routing detected: on-prem->Azure on ER, Azure->on-prem on the VPN"))


SCENARIO = Scenario(
    name="more-specific-over-vpn",
    topology="hybrid",
    summary="vpn1 leaks the h1 /24 over the VPN: Azure->on-prem moves to the VPN, the path turns asymmetric",
    fault=lambda net: MoreSpecific(router="vpn1", prefix=net.params["onprem.lan"]),
    expect=expect,
    trials=3,
    deadline_s=lambda p: 10.0,
)
