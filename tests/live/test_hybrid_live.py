"""Hybrid with VPN fallback, real FRR and strongSwan: the path itself, not just reachability."""

import pytest

from testbed.faults import Blackhole, MoreSpecific
from testbed.model import catalog
from testbed.observe import converge
from testbed.observe.checks import fib_nexthops as nexthops
from testbed.runtime.net import Network
from testbed.system import kernel
from testbed.system.poll import seconds_until

pytestmark = pytest.mark.integration

VNET, ONPREM, H1, VM1 = "10.10.0.0/16", "10.20.0.0/16", "10.20.1.10", "10.10.1.4"


@pytest.fixture(scope="module")
def hybrid():
    with Network(catalog.build("hybrid"), run="ithy") as net:
        converge.wait_converged(net, timeout=30)
        yield net


def via(net, node: str, dst: str) -> str:
    """The link (or tunnel) label ``node`` forwards ``dst`` over, from the kernel's own lookup."""
    with kernel.netlink(net.pid(node)) as ipr:
        ifname = kernel.route_get(ipr, dst)["ifname"]
    labels = net.topo.hop_labels()
    return labels.get((node, ifname), ifname)


def wait_until(check, within: float, interval: float = 0.01) -> float | None:
    return seconds_until(check, within, interval)


def on_er(net) -> bool:
    return (nexthops(net, "core", VNET) == ["core-ce1", "core-ce2"]
            and nexthops(net, "vnet", ONPREM) == ["ergw0-vnet", "ergw1-vnet"])


def on_vpn(net) -> bool:
    return (nexthops(net, "core", VNET) == ["core-vpn1"]
            and nexthops(net, "vnet", ONPREM) == ["vpngw0-vnet", "vpngw1-vnet"])


def tunnel_packets(net) -> int:
    return sum(r["packets_out"] or 0 for r in net.tunnels.status() if r["side"] == "on-prem")


def test_expressroute_carries_traffic_both_ways(hybrid):
    assert on_er(hybrid)
    assert hybrid.ping("h1", VM1) and hybrid.ping("vm1", H1)
    # the VPN is up and ready as the backup
    assert nexthops(hybrid, "vpn1", VNET) == ["vpn-tunnel0", "vpn-tunnel1"]


def test_er_blackhole_falls_back_to_vpn_within_bfd_bound_and_returns(hybrid):
    faults = [Blackhole(link="er-primary"), Blackhole(link="er-secondary")]
    for f in faults:
        f.inject(hybrid)
    try:
        moved = wait_until(lambda: on_vpn(hybrid), within=10)
        assert moved is not None, (nexthops(hybrid, "core", VNET), nexthops(hybrid, "vnet", ONPREM))
        p = hybrid.topo.params
        bound = p["bfd.multiplier"] * p["bfd.interval_ms"] / 1000
        print(f"fallback: both directions on the VPN {moved * 1000:.0f} ms after the blackhole "
              f"(BFD detection bound {bound * 1000:.0f} ms)")
        assert moved < bound + 1.0  # detection plus BGP withdraw and FIB update
        before = tunnel_packets(hybrid)
        assert hybrid.ping("h1", VM1, count=3) and hybrid.ping("vm1", H1, count=3)
        assert tunnel_packets(hybrid) >= before + 6   # the pings went through the tunnels
    finally:
        for f in faults:
            f.restore(hybrid)
    back = wait_until(lambda: on_er(hybrid), within=30, interval=0.1)
    assert back is not None
    print(f"failback to ExpressRoute {back:.1f} s after the blackhole was lifted")
    assert hybrid.ping("h1", VM1)


def test_more_specific_over_vpn_pulls_return_traffic_onto_the_vpn(hybrid):
    leak = MoreSpecific(router="vpn1", prefix="10.20.1.0/24")
    leak.inject(hybrid)
    try:
        assert wait_until(lambda: via(hybrid, "vnet", H1) in ("vpngw0-vnet", "vpngw1-vnet"), within=10)
        # Azure's longest-prefix rule: only that /24 moves; the rest of on-prem stays on ER...
        assert via(hybrid, "vnet", "10.20.2.1") in ("ergw0-vnet", "ergw1-vnet")
        # ...and on-prem still sends to Azure over ER: the path is asymmetric (the pitfall).
        assert via(hybrid, "core", VM1) in ("core-ce1", "core-ce2")
        assert hybrid.ping("h1", VM1)
    finally:
        leak.restore(hybrid)
    assert wait_until(lambda: via(hybrid, "vnet", H1) in ("ergw0-vnet", "ergw1-vnet"), within=10)
