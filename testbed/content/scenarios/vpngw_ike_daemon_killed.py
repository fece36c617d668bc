"""The IKE daemon of the gateway instance serving tunnel 0 is killed (and started again once
the device has noticed). Its userspace ESP and tunnel interface go with it, so Azure's side
drops the tunnel's BGP session at once and the VNet's traffic moves to instance 1 within
routing's reaction; the device keeps sending into the dead tunnel until dead peer detection
(45 s) or its BGP hold time ends, then its next IKE SA meets the restarted daemon
(docs/azure.md#vpn-tunnel-faults)."""
from testbed.faults import IkeDaemonKill
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    REACTION_MS,
    Scenario,
    Verdict,
    all_of,
    back_to_baseline,
    dead_tunnel_ms,
    flows_only_on,
    outage_within,
    probe_directions,
    vpn_tunnel,
)

NAME = "vpngw-ike-daemon-killed"


def expect(net: Topology, t: Trial) -> Verdict:
    to_azure, to_onprem = probe_directions(net)
    lo, hi, why = dead_tunnel_ms(net.params)
    return all_of(outage_within(t, lo, hi, f"the device finds the tunnel dead by {why}", to_azure),
                  outage_within(t, 0, 2 * REACTION_MS,
                                "the gateway's session drops with its TUN device: its reaction and the VNet's", to_onprem),
                  flows_only_on(t, "during", vpn_tunnel(net, 1, NAME).label),
                  back_to_baseline(t))


def killed(net: Topology) -> IkeDaemonKill:
    vpn_tunnel(net, 1, NAME)  # somewhere for its flows to go
    fault = IkeDaemonKill(vpn_tunnel(net, 0, NAME).label)
    # restarted only once the device has given the tunnel up, as a restart before that is
    # answered by the device's old SA, which the new daemon does not know
    fault.settle, fault.hold_s = "hold", dead_tunnel_ms(net.params)[1] / 1000 + 2.0
    return fault


SCENARIO = Scenario(
    name=NAME,
    topology="vpn",
    summary="tunnel 0's gateway IKE daemon is killed: the VNet side moves at once, the device after DPD (45 s)",
    fault=killed,
    expect=expect,
    trials=3,
)
