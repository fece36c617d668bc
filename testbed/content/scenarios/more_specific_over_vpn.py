"""The classic pitfall: on-prem advertises a more-specific prefix (the h1 LAN /24) over the VPN
only. Azure routes by longest prefix first, so Azure-to-on-prem traffic for that /24 moves to
the VPN while on-prem-to-Azure stays on ExpressRoute: asymmetric paths, which a stateful
firewall on either side would break. The scenario detects the asymmetry."""
from testbed.faults import MoreSpecific
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    Scenario,
    Verdict,
    all_of,
    back_to_baseline,
    fallback,
    flows_only_on,
    probe_directions,
    vpn_tunnel,
)

NAME = "more-specific-over-vpn"


def expect(net: Topology, t: Trial) -> Verdict:
    onprem_to_azure, azure_to_onprem = probe_directions(net)
    er, vpn = net.circuit_named(0, NAME)[0] + "-", fallback(net, len(net.circuits), NAME)
    return all_of(flows_only_on(t, "during", er, onprem_to_azure),
                  flows_only_on(t, "during", vpn, azure_to_onprem),
                  flows_only_on(t, "after", er), back_to_baseline(t),
                  Verdict(True, "asymmetric routing detected: on-prem->Azure on ER, Azure->on-prem on the VPN"))


def leak(net: Topology) -> MoreSpecific:
    """The VPN device advertises the probe host's LAN, a more-specific of the site's space."""
    lan = net.link_named(next(l.label for l in net.links if net.endpoints[0] in (l.a.node, l.b.node)))
    return MoreSpecific(router=vpn_tunnel(net, 0, NAME).onprem, prefix=str(lan.a.addr.network))


SCENARIO = Scenario(
    name=NAME,
    topology="hybrid",
    summary="vpn1 leaks the h1 /24 over the VPN: Azure->on-prem moves to the VPN, the path turns asymmetric",
    fault=leak,
    expect=expect,
    trials=3,
    deadline_s=lambda p: 10.0,
)
