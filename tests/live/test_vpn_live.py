"""Site-to-site VPN with real strongSwan: tunnels, BGP over them, a lost instance, and bad settings."""
import time

import pytest
from test_hybrid_live import nexthops, wait_until

from testbed.errors import TestbedError
from testbed.faults import LinkDown
from testbed.model import catalog
from testbed.observe import converge, peers
from testbed.runtime.net import Network

pytestmark = pytest.mark.integration
VM1, H1 = "10.10.1.4", "10.20.1.10"


@pytest.fixture(scope="module")
def vpn():
    # Azure's VPN timers are 60/180; lowered here so that a lost instance is noticed in seconds.
    topo = catalog.build("vpn", {"vpngw.keepalive_s": 3, "vpngw.hold_s": 9})
    with Network(topo, run="itvpn") as net:
        converge.wait_converged(net, timeout=30)
        yield net


def test_both_tunnels_established_and_bgp_over_both(vpn):
    rows = vpn.tunnels.status()
    assert {(r["ike_state"], r["child_state"]) for r in rows} == {("ESTABLISHED", "INSTALLED")}
    summary = vpn.frr["vpn1"].json("show bgp ipv4 unicast summary json")["peers"]
    assert summary["169.254.21.1"]["state"] == summary["169.254.22.1"]["state"] == "Established"
    assert nexthops(vpn, "vpn1", "10.10.0.0/16") == ["vpn-tunnel0", "vpn-tunnel1"]
    assert vpn.ping("h1", VM1) and vpn.ping("vm1", H1)


def test_azure_side_is_passive_and_has_no_bfd(vpn):
    assert "neighbor 169.254.21.2 passive" in vpn.frr["vpngw0"].vtysh("show running-config")
    n = vpn.frr["vpngw0"].json("show bgp neighbors 169.254.21.2 json")["169.254.21.2"]
    assert "peerBfdInfo" not in n


def test_one_gateway_instance_down_traffic_goes_through_the_other(vpn):
    # The instance powers off: both of its links lose carrier.
    faults = [LinkDown(link="inet-vpngw0"), LinkDown(link="vpngw0-vnet")]
    for f in faults:
        f.inject(vpn)
    try:
        moved = wait_until(lambda: nexthops(vpn, "vpn1", "10.10.0.0/16") == ["vpn-tunnel1"]
                           and nexthops(vpn, "vnet", "10.20.0.0/16") == ["vpngw1-vnet"], within=20,
                           interval=0.1)
        assert moved is not None
        print(f"on-prem withdrew the lost tunnel after {moved:.1f} s (hold time 9 s)")
        assert vpn.ping("h1", VM1, count=3) and vpn.ping("vm1", H1, count=3)
    finally:
        for f in faults:
            f.restore(vpn)
    assert wait_until(lambda: nexthops(vpn, "vpn1", "10.10.0.0/16") == ["vpn-tunnel0", "vpn-tunnel1"],
                      within=60, interval=0.2) is not None


@pytest.mark.parametrize("overrides, cause", [
    ({"onprem.vpn_psk_file": "WRONG"}, "AUTHENTICATION_FAILED"),
    ({"onprem.vpn_ike_proposal": "aes128-sha1-modp2048"}, "NO_PROPOSAL_CHOSEN"),
    # a custom policy on the connection: the gateway accepts that one only
    ({"vpn.ike_proposal": "aes128-sha256-modp1024", "onprem.vpn_ike_proposal": "aes256-sha256-modp1024"},
     "NO_PROPOSAL_CHOSEN"),
])
def test_bad_tunnel_settings_fail_fast_with_the_cause(overrides, cause, tmp_path):
    if overrides.get("onprem.vpn_psk_file") == "WRONG":
        key = tmp_path / "wrong.key"
        key.write_text("not-the-gateways-key\n")
        key.chmod(0o600)
        overrides = {"onprem.vpn_psk_file": str(key)}
    t0 = time.monotonic()
    with pytest.raises(TestbedError) as e:
        with Network(catalog.build("vpn", overrides), run="itvpnbad"):
            pass
    took = time.monotonic() - t0
    msg = str(e.value)
    print(f"{cause}: error after {took:.1f} s: {msg}")
    assert "vpn-tunnel0" in msg and cause in msg and took < 20


@pytest.mark.parametrize("ike, esp", [("aes128-sha1-modp1024", "aes128-sha1"), ("3des-sha1-modp1024", "3des-sha1"),
                                      ("aes256-sha1-modp1024", "aes256gcm16")])
def test_the_gateway_accepts_azures_default_proposals(ike, esp):
    """With no custom policy, a device proposing any of Azure's default combinations gets its tunnel."""
    sets = {"onprem.vpn_ike_proposal": ike, "onprem.vpn_esp_proposal": esp}
    with Network(catalog.build("vpn-active-standby", sets), run="itvpnprop") as net:
        st = [r for r in net.tunnels.status() if r["side"] != "standby"]   # the standby waits with no SA
        assert {r["ike_state"] for r in st} == {"ESTABLISHED"} and {r["child_state"] for r in st} == {"INSTALLED"}, st


def test_gatewaysubnet_peering_uses_the_gateways_4_and_5_and_the_devices_loopback():
    """BGP to the GatewaySubnet's .4 and .5 (Azure's first usable addresses) from the device's
    router id on a loopback, multihop through both tunnels."""
    with Network(catalog.build("vpn", {"vpn.bgp_peering": "gatewaysubnet"}), run="itvpngws") as net:
        converge.wait_converged(net)
        sessions = peers.bgp(net, "vpn1")
        assert {"10.10.255.4", "10.10.255.5"} <= set(sessions)
        assert all(sessions[a]["state"] == "Established" for a in ("10.10.255.4", "10.10.255.5")), sessions
        assert net.ping("h1", net.topo.address("vm1"), count=2)
