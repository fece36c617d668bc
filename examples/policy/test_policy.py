"""Our on-prem edge policy against Azure's "Hybrid with VPN fallback", before we deploy it.

Copy this directory, put your own configs in place of ce1.conf, ce2.conf and vpn1.conf (they
must use the testbed's interface names and addresses: 'testbed config-template ce1 hybrid'),
and run as root:

    pytest examples/policy/test_policy.py
    pytest examples/policy/test_policy.py --testbed-config vpn1=examples/policy/broken/vpn1.conf

The second run swaps in a config with the VPN preferred over ExpressRoute: the first test fails
and says which way the traffic goes instead.
"""
import pytest

from testbed.faults import Blackhole, Together
from testbed.observe.checks import bgp_advertised, eventually, more_specific_leaks, path, path_is, path_through

pytestmark = pytest.mark.testbed(
    topology="hybrid",
    configs={"ce1": "ce1.conf", "ce2": "ce2.conf", "vpn1": "vpn1.conf"},
)

EXPRESSROUTE = {"er-primary", "er-secondary"}
VPN = {"vpn-tunnel0", "vpn-tunnel1"}
ER_SESSIONS = [("ce1", "er-primary"), ("ce2", "er-secondary")]
VPN_SESSIONS = [("vpn1", "vpn-tunnel0"), ("vpn1", "vpn-tunnel1")]


@pytest.fixture(scope="module")
def vm1(testbed_net) -> str:
    return testbed_net.topo.address("vm1")


def test_expressroute_preferred_both_ways(testbed_net, vm1):
    # h1 -> vm1 and vm1 -> h1: every path (each ECMP branch) crosses an ExpressRoute link.
    eventually(lambda: path_through(testbed_net, "h1", vm1, EXPRESSROUTE), within=10,
               what="traffic between h1 and vm1 should take ExpressRoute both ways")


def test_vpn_takes_over_when_expressroute_fails(testbed_net, testbed_faults, vm1):
    before = path(testbed_net, "h1", vm1)
    # Both links silently drop everything (BFD notices, not the carrier): the circuit is down.
    testbed_faults.fail(Together([Blackhole("er-primary"), Blackhole("er-secondary")], what="ExpressRoute down"))
    took = eventually(lambda: path_through(testbed_net, "h1", vm1, VPN), within=10,
                      what="with ExpressRoute down, traffic should move to the VPN both ways")
    print(f"on the VPN {took:.1f} s after ExpressRoute failed")
    assert testbed_net.ping("h1", vm1, count=3), "h1 cannot reach vm1 over the VPN"
    testbed_faults.restore()
    eventually(lambda: path_is(testbed_net, "h1", vm1, before), within=60,
               what="once ExpressRoute is back, traffic should return to the paths it took before")


def test_no_more_specific_over_the_vpn(testbed_net):
    er = {p for router, label in ER_SESSIONS for p in bgp_advertised(testbed_net, router, label)}
    vpn = {p for router, label in VPN_SESSIONS for p in bgp_advertised(testbed_net, router, label)}
    assert not more_specific_leaks(vpn, er), "\n".join(more_specific_leaks(vpn, er))


def test_prefix_count_under_azure_limit(testbed_net):
    limit = testbed_net.topo.params.prefix_limit()
    counts = {f"{router} ({label})": len(bgp_advertised(testbed_net, router, label))
              for router, label in ER_SESSIONS}
    over = {k: n for k, n in counts.items() if n > limit}
    assert not over, f"prefixes advertised to the MSEEs above Azure's limit of {limit}: {over}"
