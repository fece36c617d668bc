"""The gateway instance serving tunnel 0 deletes the tunnel's IKE SA (a DELETE, as when the
connection is reset in Azure). Both ends' tunnel interfaces go down with the SA and take the
BGP session along, so the tunnel's flows move to tunnel 1 within routing's reaction; the device
negotiates a new SA at once and the tunnel's routes come back once BGP is up again over it
(docs/azure.md#vpn-tunnel-faults)."""
from testbed.faults import IkeDelete
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    REACTION_MS,
    Scenario,
    Verdict,
    all_of,
    back_to_baseline,
    flows_only_on,
    outage_below,
    vpn_tunnel,
)

NAME = "vpngw-ike-sa-deleted"

#: The new SA and the BGP session over it: IKE_SA_INIT + IKE_AUTH, then FRR's reconnect (its
#: connect retry is 1 s; a peer address that becomes reachable is tried at once) and its update.
BACK_S = 5.0


def expect(net: Topology, t: Trial) -> Verdict:
    return all_of(outage_below(t, 2 * REACTION_MS, "both ends drop the session with the SA: two speakers' reaction"),
                  outage_below(t, 2 * REACTION_MS, "the tunnel's routes return once BGP is up over it", restore=True),
                  flows_only_on(t, "after", "vpn-tunnel"),
                  back_to_baseline(t))


def deleted(net: Topology) -> IkeDelete:
    vpn_tunnel(net, 1, NAME)  # somewhere for its flows to go
    fault = IkeDelete(vpn_tunnel(net, 0, NAME).label)
    fault.settle, fault.hold_s = "hold", BACK_S
    return fault


SCENARIO = Scenario(
    name=NAME,
    topology="vpn",
    summary="the gateway deletes tunnel 0's IKE SA: its flows move to tunnel 1 and back once the device re-keys",
    fault=deleted,
    expect=expect,
    trials=3,
)
