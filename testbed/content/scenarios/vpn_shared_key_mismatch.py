"""The connection's shared key is changed on Azure's side only, and Azure resets the tunnel:
the device's next IKE SA fails authentication (AUTHENTICATION_FAILED) and tunnel 0 stays down,
its flows on tunnel 1; the reason is on the timeline and in `testbed status`. Restore puts the
old key back (docs/azure.md#vpn-tunnel-faults)."""
from testbed.faults import KeyChange
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    REACTION_MS,
    Scenario,
    Verdict,
    all_of,
    back_to_baseline,
    flows_only_on,
    moved_off,
    outage_below,
    vpn_tunnel,
)

NAME = "vpn-shared-key-mismatch"


def said_why(t: Trial) -> Verdict:
    """The device's log gave the authentication failure as the reason."""
    reasons = [e.detail["what"] for e in t.events if e.kind == "auth-failed"]
    ok = any("AUTHENTICATION_FAILED" in r or "pre-shared key" in r for r in reasons)
    return Verdict(ok, f"the device says why: {reasons[0] if reasons else 'nothing'}")


def expect(net: Topology, t: Trial) -> Verdict:
    return all_of(moved_off(t, vpn_tunnel(net, 0, NAME).label),
                  flows_only_on(t, "during", vpn_tunnel(net, 1, NAME).label),
                  outage_below(t, 2 * REACTION_MS, "both ends drop the session with the SA: two speakers' reaction"),
                  said_why(t),
                  back_to_baseline(t))


def changed(net: Topology) -> KeyChange:
    vpn_tunnel(net, 1, NAME)  # somewhere for its flows to go
    return KeyChange(vpn_tunnel(net, 0, NAME).label)


SCENARIO = Scenario(
    name=NAME,
    topology="vpn",
    summary="tunnel 0's shared key changes on Azure's side only: the tunnel stays down, status says why",
    fault=changed,
    expect=expect,
    trials=3,
    deadline_s=lambda p: 15.0,
)
