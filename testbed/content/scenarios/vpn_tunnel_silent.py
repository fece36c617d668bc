"""Tunnel 0 goes silent: its gateway instance's public address drops everything, ESP and IKE
alike, and the link keeps carrier. Azure's VPN gateway runs no BFD, so only dead peer detection
(45 s by default) or the BGP hold time (180 s on Azure's side) notices, whichever ends first:
here dead peer detection. Each end's tunnel interface goes down with its last SA and takes the
BGP session over it along; the tunnel's flows move to tunnel 1, the others see nothing, and the
tunnel comes back once the device's next IKE SA gets through (docs/azure.md#vpn-tunnel-faults)."""
from typing import Any

from testbed.faults import Blackhole
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    Scenario,
    Verdict,
    all_of,
    back_to_baseline,
    dead_tunnel_ms,
    flows_only_on,
    moved_off,
    outage_within,
    vpn_tunnel,
)

NAME = "vpn-tunnel-silent"


def silent(net: Topology, needs: str) -> Blackhole:
    """Everything to and from the public address of tunnel 0's gateway instance dropped there,
    until dead peer detection has ended whatever detector came first: a DPD exchange still
    retransmitting at restore would end the tunnel later, in the next trial."""
    t = vpn_tunnel(net, 0, needs)
    vpn_tunnel(net, 1, needs)  # somewhere for its flows to go
    public = next(l for l in net.links_of(t.azure)
                  if str(l.end(t.azure).addr.ip) == t.azure_outer)
    fault = Blackhole(link=public.label, node=t.azure)
    fault.settle, fault.hold_s = "hold", net.params["vpn.dpd_timeout_s"] + 2.0
    return fault


def expect(net: Topology, t: Trial, needs: str) -> Verdict:
    lo, hi, why = dead_tunnel_ms(net.params)
    return all_of(moved_off(t, vpn_tunnel(net, 0, needs).label),
                  flows_only_on(t, "during", vpn_tunnel(net, 1, needs).label),
                  back_to_baseline(t),
                  outage_within(t, lo, hi, why))


def silent_scenario(name: str, summary: str, params: dict[str, Any]) -> Scenario:
    """Tunnel 0 silent on the VPN network with ``params``; the tunnel returns within a
    retransmission cycle of restore."""
    return Scenario(
        name=name,
        topology="vpn",
        summary=summary,
        fault=lambda net: silent(net, name),
        params=params,
        expect=lambda net, t: expect(net, t, name),
        trials=3,
    )


SCENARIO = silent_scenario(
    NAME, "tunnel 0 drops ESP and IKE silently: dead peer detection (45 s) moves its flows to tunnel 1", {})
