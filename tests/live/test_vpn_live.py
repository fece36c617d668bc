"""Site-to-site VPN with real strongSwan: tunnels, BGP over them, a lost instance, the tunnel's
MSS clamp and MTU, the gateway's prefix limit, and bad settings."""
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from scapy.layers.inet import TCP
from scapy.utils import rdpcap
from test_hybrid_live import nexthops, wait_until

from testbed.errors import TestbedError
from testbed.faults import Blackhole, KeyChange, LinkDown, PrefixFlood
from testbed.model import catalog
from testbed.observe import converge, peers
from testbed.runtime.net import Network
from testbed.system.procs import stop_process

pytestmark = pytest.mark.integration
VM1, H1 = "10.10.1.4", "10.20.1.10"


@pytest.fixture(scope="module")
def vpn():
    # Azure's VPN timers are 60/180; lowered here so that a lost instance is noticed in seconds.
    # The prefix limit (4,000) is lowered so that a handful of prefixes crosses it.
    topo = catalog.build("vpn", {"vpngw.keepalive_s": 3, "vpngw.hold_s": 9,
                                 "vpngw.prefix_limit": 5, "vpngw.prefix_limit_retry_s": 2})
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


@contextmanager
def capture(net, node: str, pcap, bpf: str):
    """tcpdump in ``node`` into ``pcap`` while the block runs (it has started when the block does)."""
    proc = net.nodes[node].popen(["tcpdump", "-i", "any", "-n", "-U", "--immediate-mode", "-w", str(pcap), bpf],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        said = b""
        while b"listening on" not in said:   # tcpdump's last word before it captures
            line = proc.stderr.readline()
            assert line, f"tcpdump in {node} did not start: {said!r}"
            said += line
        yield
    finally:
        stop_process(proc)


def mss(pcap, flags: str) -> list[int]:
    """The MSS option of every TCP segment in ``pcap`` whose flags are exactly ``flags``."""
    return [dict(p[TCP].options)["MSS"] for p in rdpcap(str(pcap)) if TCP in p and p[TCP].flags == flags]


def test_tcp_mss_is_clamped_to_1350_through_the_tunnel_both_ways(vpn, tmp_path):
    """h1 and vm1 (MTU 1,500) offer MSS 1,460; each SYN arrives across the tunnel with 1,350."""
    clamp, port = vpn.topo.params["vpn.mss"], 8080
    server = vpn.nodes["vm1"].popen(["python3", "-m", "http.server", str(port), "--bind", VM1],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bpf = f"tcp port {port}"
        with capture(vpn, "h1", tmp_path / "h1.pcap", bpf), capture(vpn, "vm1", tmp_path / "vm1.pcap", bpf):
            get = ["curl", "-sf", "-o", "/dev/null", "-m", "2", f"http://{VM1}:{port}/"]
            assert wait_until(lambda: vpn.run_in("h1", get).returncode == 0, within=10, interval=0.2) is not None
    finally:
        stop_process(server)
    sent, received = mss(tmp_path / "h1.pcap", "S"), mss(tmp_path / "vm1.pcap", "S")
    answered, got = mss(tmp_path / "vm1.pcap", "SA"), mss(tmp_path / "h1.pcap", "SA")
    print(f"SYN: {sent} left h1, {received} reached vm1; SYN-ACK: {answered} left vm1, {got} reached h1")
    assert sent and set(sent) == set(answered) == {1460}
    assert set(received) == set(got) == {clamp}


def test_tunnel_mtu_1400_a_bigger_df_packet_gets_frag_needed(vpn):
    """Either way, 1,400 bytes with DF cross the tunnel; 1,500 get ICMP "fragmentation needed"
    (mtu 1,400) from the tunnel's entry."""
    mtu = vpn.topo.params["vpn.mtu"]
    try:
        for src, dst in (("h1", VM1), ("vm1", H1)):
            vpn.run_in(src, ["ip", "route", "flush", "cache"], check=True)   # no PMTU learned before

            def ping(size: int) -> subprocess.CompletedProcess:
                argv = ["ping", "-n", "-c", "1", "-W", "1", "-M", "do", "-s", str(size - 28), dst]
                return vpn.run_in(src, argv, capture_output=True, text=True)
            big, fits = ping(1500), ping(mtu)
            print(f"{src} -> {dst}: 1,500 bytes: {big.stdout.splitlines()[1:2]}; {mtu} bytes: rc {fits.returncode}")
            assert big.returncode != 0 and f"Frag needed and DF set (mtu = {mtu})" in big.stdout
            assert fits.returncode == 0, fits.stdout
    finally:
        for node in ("h1", "vm1"):
            vpn.run_in(node, ["ip", "route", "flush", "cache"])


def test_prefix_limit_drops_the_gateway_sessions_and_they_come_back(vpn):
    """The device advertises more than the gateway's limit: both instances drop their session
    (FRR: maximum prefix), the VNet's routes leave the device; withdrawn, the sessions return."""
    limit = vpn.topo.params["vpngw.prefix_limit"]
    sessions = {"vpngw0": "169.254.21.2", "vpngw1": "169.254.22.2"}

    def states() -> dict[str, str]:
        return {gw: peers.bgp_neighbor(vpn, gw, addr).get("bgpState", "") for gw, addr in sessions.items()}

    # With the on-prem /16 that is limit + 2 prefixes: FRR 8.4 keeps a session at limit + 1
    # (docs/azure.md#prefix-limits), as the ExpressRoute test also allows for.
    leak = PrefixFlood(router="vpn1", count=limit + 1)
    leak.inject(vpn)
    try:
        dropped = wait_until(lambda: "Established" not in states().values(), within=20, interval=0.1)
        assert dropped is not None, states()
        for gw, addr in sessions.items():
            n = peers.bgp_neighbor(vpn, gw, addr)
            assert "Maximum Number of Prefixes" in n.get("lastNotificationReason", ""), n
        assert wait_until(lambda: nexthops(vpn, "vpn1", "10.10.0.0/16") == [], within=10) is not None
        assert not vpn.ping("h1", VM1)
        print(f"both sessions dropped {dropped:.1f} s after the leak: {states()}")
    finally:
        leak.restore(vpn)
    back = wait_until(lambda: set(states().values()) == {"Established"}
                      and nexthops(vpn, "vpn1", "10.10.0.0/16") == ["vpn-tunnel0", "vpn-tunnel1"],
                      within=30, interval=0.2)
    assert back is not None, states()
    print(f"both sessions back {back:.1f} s after the withdraw (retry after {vpn.topo.params['vpngw.prefix_limit_retry_s']} s)")
    assert vpn.ping("h1", VM1, count=3)


def both_tunnels(net) -> bool:
    return (nexthops(net, "vpn1", "10.10.0.0/16") == ["vpn-tunnel0", "vpn-tunnel1"]
            and nexthops(net, "vnet", "10.20.0.0/16") == ["vpngw0-vnet", "vpngw1-vnet"])


def test_a_changed_shared_key_keeps_the_tunnel_down_and_status_says_why(vpn):
    fault = KeyChange("vpn-tunnel0")
    fault.inject(vpn)
    try:
        row = next(r for r in vpn.tunnels.status() if r["tunnel"] == "vpn-tunnel0" and r["side"] == "on-prem")
        assert row["child_state"] != "INSTALLED" and "AUTHENTICATION_FAILED" in row["reason"], row
        # both ends' TUN devices lost carrier with the SA, and the BGP sessions over them went
        assert wait_until(lambda: nexthops(vpn, "vpn1", "10.10.0.0/16") == ["vpn-tunnel1"]
                          and nexthops(vpn, "vnet", "10.20.0.0/16") == ["vpngw1-vnet"], within=10) is not None
        assert "NO-CARRIER" in vpn.nodes["vpn1"].cmd("ip link show dev ipsec0")
        assert "NO-CARRIER" in vpn.nodes["vpngw0"].cmd("ip link show dev ipsec0")
        time.sleep(3)   # the device does not get back in with its old key
        assert nexthops(vpn, "vpn1", "10.10.0.0/16") == ["vpn-tunnel1"]
    finally:
        fault.restore(vpn)
    assert wait_until(lambda: both_tunnels(vpn), within=30, interval=0.2) is not None


def test_a_silent_tunnel_is_found_dead_by_dead_peer_detection_and_its_routes_move():
    """Nothing crosses tunnel 0 (ESP and IKE dropped at the gateway's public address): with a
    DPD timeout of 9 s (3 s idle, retransmits after 2 and 4 s) and BGP's 180 s hold time, DPD
    ends it, the TUN devices lose carrier, and both sides route over tunnel 1."""
    with Network(catalog.build("vpn", {"vpn.dpd_timeout_s": 9}), run="itvpndpd") as net:
        converge.wait_converged(net, timeout=30)
        fault = Blackhole(link="inet-vpngw0", node="vpngw0")
        fault.inject(net)
        try:
            moved = wait_until(lambda: nexthops(net, "vpn1", "10.10.0.0/16") == ["vpn-tunnel1"]
                               and nexthops(net, "vnet", "10.20.0.0/16") == ["vpngw1-vnet"], within=20, interval=0.1)
            assert moved is not None
            print(f"both sides moved to tunnel 1 {moved:.2f} s after the tunnel went silent (DPD 9 s)")
            assert 8.0 < moved < 11.0
            assert net.ping("h1", VM1, count=3) and net.ping("vm1", H1, count=3)
        finally:
            fault.restore(net)
        back = wait_until(lambda: both_tunnels(net), within=30, interval=0.2)
        assert back is not None
        print(f"tunnel 0 carried traffic again {back:.1f} s after restore")


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
        with Network(catalog.build("vpn", overrides), run="hbvpnbad"):
            pass
    took = time.monotonic() - t0
    msg = str(e.value)
    print(f"{cause}: error after {took:.1f} s: {msg}")
    assert "vpn-tunnel0" in msg and cause in msg and took < 20
    kept = Path(msg.rsplit("kept in ", 1)[1].rstrip("."))  # the run's own directories are gone
    assert list(kept.glob("ipsec/*/vpn-tunnel0/charon.log")), f"{kept} holds no charon log"
    shutil.rmtree(kept)


@pytest.mark.parametrize("ike, esp", [("aes128-sha1-modp1024", "aes128-sha1"), ("3des-sha1-modp1024", "3des-sha1"),
                                      ("aes256-sha1-modp1024", "aes256gcm16")])
def test_the_gateway_accepts_azures_default_proposals(ike, esp):
    """With no custom policy, a device proposing any of Azure's default combinations gets its tunnel."""
    sets = {"onprem.vpn_ike_proposal": ike, "onprem.vpn_esp_proposal": esp}
    with Network(catalog.build("vpn-active-standby", sets), run="hbvpnprop") as net:
        st = [r for r in net.tunnels.status() if r["side"] != "standby"]   # the standby waits with no SA
        assert {r["ike_state"] for r in st} == {"ESTABLISHED"} and {r["child_state"] for r in st} == {"INSTALLED"}, st


def test_gatewaysubnet_peering_uses_the_gateways_4_and_5_and_the_devices_loopback():
    """BGP to the GatewaySubnet's .4 and .5 (Azure's first usable addresses) from the device's
    router id on a loopback, multihop through both tunnels."""
    with Network(catalog.build("vpn", {"vpn.bgp_peering": "gatewaysubnet"}), run="hbvpngws") as net:
        converge.wait_converged(net)
        sessions = peers.bgp(net, "vpn1")
        assert {"10.10.255.4", "10.10.255.5"} <= set(sessions)
        assert all(sessions[a]["state"] == "Established" for a in ("10.10.255.4", "10.10.255.5")), sessions
        assert net.ping("h1", net.topo.address("vm1"), count=2)
