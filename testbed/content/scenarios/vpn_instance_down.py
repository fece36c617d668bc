"""One instance of the active-active VPN gateway goes down (both of its links lose carrier).
Azure's side notices at once; on-prem keeps sending over the dead tunnel until BGP's hold time
expires (Azure's VPN timers are 60/180 s and it supports no BFD: here lowered to 3/9 s so a
trial takes seconds; DPD, 45 s by default, is the other detector). The flows hashed onto the
lost tunnel see the outage; the others do not; all traffic ends on the surviving tunnel."""
from testbed.faults import LinkDown, Together
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    Scenario,
    Verdict,
    all_of,
    back_to_baseline,
    flows_only_on,
    moved_off,
    outage_within,
    vpn_tunnel,
)

NAME = "vpn-instance-down"


def expect(net: Topology, t: Trial) -> Verdict:
    p = net.params
    hold_ms = p["vpngw.hold_s"] * 1000
    return all_of(moved_off(t, vpn_tunnel(net, 0, NAME).label),
                  flows_only_on(t, "during", vpn_tunnel(net, 1, NAME).label),
                  back_to_baseline(t),
                  outage_within(t, 0, hold_ms + 1000, f"BGP hold {hold_ms / 1000:g} s + 1 s reaction"))


def instance_down(net: Topology) -> Together:
    p = net.params
    gw = vpn_tunnel(net, 0, NAME).azure
    vpn_tunnel(net, 1, NAME)  # somewhere for its flows to go
    links = [l.label for l in net.links_of(gw)]   # its public and GatewaySubnet links
    fault = Together([LinkDown(label) for label in links],
                     what=f"{gw} down: its public and GatewaySubnet links lose carrier")
    # Azure's side moves at once, on-prem only when the hold time expires: hold the fault past it.
    fault.settle, fault.hold_s = "hold", p["vpngw.hold_s"] + 3.0
    return fault


SCENARIO = Scenario(
    name=NAME,
    topology="vpn",
    summary="VPN gateway instance 0 powers off: its tunnel's flows move to instance 1",
    fault=instance_down,
    params={"vpngw.keepalive_s": 3, "vpngw.hold_s": 9},
    expect=expect,
    trials=3,
    deadline_s=lambda p: p["vpngw.hold_s"] + 20,
)
