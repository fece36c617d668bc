"""A data centre's own VPN edge against Azure, run as written (networks/vpn-loopback-edge.yaml:
edge1 runs configs/edge1.conf unchanged: its own ASN and timers, BGP from a loopback, eBGP
multihop to the gateway's GatewaySubnet addresses over two tunnels). Run as root:

    pytest examples/own-network/test_edge_policy.py

To rehearse your own network, copy the network file, describe your routers and addresses in it
('testbed schema' lists the keys), name your configs under the routers, and point the marker
at your file.
"""
import pytest

from testbed.faults import LinkDown, Together
from testbed.observe.checks import bgp_advertised, eventually, path_through

pytestmark = pytest.mark.testbed(network="../../networks/vpn-loopback-edge.yaml")

TUNNELS = {"vpn-tunnel0", "vpn-tunnel1"}


def test_both_tunnels_carry_the_vnet_both_ways(testbed_net):
    vm1 = testbed_net.topo.address("vm1")
    eventually(lambda: path_through(testbed_net, "h1", vm1, TUNNELS), within=10,
               what="traffic between h1 and vm1 should take the tunnels both ways")


def test_only_the_summary_goes_to_azure(testbed_net):
    for label in sorted(TUNNELS):
        assert set(bgp_advertised(testbed_net, "edge1", label)) == {"10.50.0.0/16"}, label


def test_one_instance_down_keeps_traffic_on_the_other(testbed_net, testbed_faults):
    vm1 = testbed_net.topo.address("vm1")
    testbed_faults.fail(Together([LinkDown("inet-vpngw0"), LinkDown("vpngw0-vnet")], what="instance 0 off"))
    # the edge's own hold timer (10/30, not Azure's 60/180) decides how soon tunnel 0 is dropped
    took = eventually(lambda: path_through(testbed_net, "h1", vm1, {"vpn-tunnel1"}), within=40,
                      what="with instance 0 gone, traffic should use tunnel 1 both ways")
    print(f"on tunnel 1 {took:.1f} s after instance 0 went down")
    testbed_faults.restore()
