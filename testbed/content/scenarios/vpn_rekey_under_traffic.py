"""A CHILD SA rekey under traffic: what every tunnel does at the end of its SA lifetime (Azure:
27,000 s; rekeyed here at once by the on-prem device). strongSwan installs the new SA before it
deletes the old one (make before break), so no packet should be lost; the loss is measured and
the rekey is on the timeline."""
from testbed.faults import Rekey
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import Scenario, Verdict, all_of, loss_at_most, vpn_tunnel

NAME = "vpn-rekey-under-traffic"

LOSS_MS = 0.0


def expect(net: Topology, t: Trial) -> Verdict:
    tunnel = vpn_tunnel(net, 0, NAME).label
    carried = len(t.flows_on(tunnel, "during"))
    return all_of(Verdict(carried > 0, f"{carried} flow(s) on {tunnel} through the rekey"),
                  loss_at_most(t, LOSS_MS, "make before break"))


SCENARIO = Scenario(
    name=NAME,
    topology="vpn",
    summary="tunnel 0's CHILD SA is rekeyed under traffic: no packet lost",
    fault=lambda net: Rekey(vpn_tunnel(net, 0, NAME).label),
    expect=expect,
    trials=3,
    deadline_s=lambda p: 10.0,
)
