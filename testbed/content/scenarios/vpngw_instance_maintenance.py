"""Azure maintenance on one instance of an active-active VPN gateway: vpngw0 is taken offline,
its BGP sessions (to the on-prem device over its tunnel, and to the VNet) shut down
administratively, a Cease NOTIFICATION its peers act on at once. Azure maintains the instances
one at a time, so vpngw1 stays and carries everything (docs/azure.md#vpn-tunnel-faults).

The flows hashed onto tunnel 0 move to tunnel 1 within two speakers' reaction in each
direction: vpngw0's bgpd, then the device's (or the VNet router's) ECMP. When vpngw0 is back
the device reconnects (Azure's side is passive) and traffic spreads over both tunnels again."""
from testbed.faults import Together
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import (
    Scenario,
    Verdict,
    all_of,
    back_to_baseline,
    flows_only_on,
    maintained,
    maintenance,
    moved_off,
    vpn_tunnel,
)

NAME = "vpngw-instance-maintenance"


def expect(net: Topology, t: Trial) -> Verdict:
    return all_of(moved_off(t, vpn_tunnel(net, 0, NAME).label),
                  flows_only_on(t, "during", vpn_tunnel(net, 1, NAME).label),
                  maintained(t), back_to_baseline(t))


def instance_maintenance(net: Topology) -> Together:
    vpn_tunnel(net, 1, NAME)  # the instance that stays
    return maintenance(net, vpn_tunnel(net, 0, NAME).azure)


SCENARIO = Scenario(
    name=NAME,
    topology="vpn",
    summary="VPN gateway instance vpngw0 in maintenance (BGP shut down): its flows move to vpngw1 within 160 ms",
    fault=instance_maintenance,
    expect=expect,
    trials=3,
)
