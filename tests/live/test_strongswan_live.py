"""Real charons in Mininet nodes: an on-prem device with two tunnels to an active-active gateway.

    swonp 198.51.100.2/30 -- .1 swinet 203.0.113.1/30 -- .2 swgw0
                                       203.0.113.5/30 -- .6 swgw1

Needs root; leaves no charon, mount or namespace behind (checked).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.daemons.strongswan import Charon, TunnelSpec, kill_leftovers, leftover_pids
from testbed.errors import TestbedError
from testbed.system.procs import alive, environ

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (Mininet namespaces)"),
]

ONP, GW0, GW1 = "198.51.100.2", "203.0.113.2", "203.0.113.6"
# The second charon in swonp needs its own ports and routing table.
SECOND = {"ike_port": 1500, "nat_t_port": 14500, "routing_table": 1002}


def _charons_under(run_dir: Path) -> list[int]:
    """Every running charon whose STRONGSWAN_CONF lies under run_dir, whatever its pid file says."""
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return [pid for pid in pids
            if environ(pid).get("STRONGSWAN_CONF", "").startswith(f"{run_dir}/") and alive(pid)]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sw")
    (path / "psk").write_text("azure-shared-key-1\n")
    (path / "wrong-psk").write_text("some-other-key\n")
    return path


@pytest.fixture(scope="module")
def net(run_dir: Path) -> Iterator[dict]:
    from mininet.net import Mininet
    from mininet.node import Node

    mininet = Mininet(topo=None, controller=None, build=False)
    names = ("onp", "inet", "gw0", "gw1")
    nodes = {name: mininet.addHost(f"sw{name}", cls=Node, ip=None) for name in names}
    for name in ("onp", "gw0", "gw1"):
        mininet.addLink(nodes[name], nodes["inet"])
    mininet.build()
    shells = [node.pid for node in nodes.values()]
    try:
        setup = {
            "onp": ["ip addr add 198.51.100.2/30 dev swonp-eth0", "ip route add default via 198.51.100.1"],
            "gw0": ["ip addr add 203.0.113.2/30 dev swgw0-eth0", "ip route add default via 203.0.113.1"],
            "gw1": ["ip addr add 203.0.113.6/30 dev swgw1-eth0", "ip route add default via 203.0.113.5"],
            "inet": [
                "ip addr add 198.51.100.1/30 dev swinet-eth0",
                "ip addr add 203.0.113.1/30 dev swinet-eth1",
                "ip addr add 203.0.113.5/30 dev swinet-eth2",
                "sysctl -qw net.ipv4.ip_forward=1",
            ],
        }
        for name, commands in setup.items():
            for command in commands:
                out = nodes[name].cmd(f"{command} && echo ok")
                assert out.strip().endswith("ok"), f"{name}: {command}: {out}"
        assert " 0% packet loss" in nodes["onp"].cmd(f"ping -c1 -W1 {GW1}")
        yield nodes
    finally:
        mininet.stop()
        leftovers = _charons_under(run_dir)
        for pid in leftovers:
            os.kill(pid, signal.SIGKILL)
        assert not leftovers, "charon left running"
        assert not [pid for pid in shells if alive(pid)], "node namespace (shell) left behind"


def _spec(name: str, local: str, remote: str, run_dir: Path, *, initiator: bool, **kw) -> TunnelSpec:
    kw.setdefault("psk_file", run_dir / "psk")
    kw.setdefault("routing_table", 1001)
    return TunnelSpec(name=name, local_addr=local, remote_addr=remote, initiator=initiator, **kw)


def _stop_all(charons: list[Charon]) -> None:
    pids = [c.pid for c in charons if c.pid]
    for charon in charons:
        charon.stop()
    assert not [pid for pid in pids if alive(pid)]


def _rtt_ms(node, src: str, dst: str) -> float:
    out = node.cmd(f"ping -c5 -i0.2 -W1 -I {src} {dst}")
    assert " 0% packet loss" in out, out
    return float(re.search(r"= [\d.]+/([\d.]+)/", out).group(1))


def test_two_tunnels_active_active(net: dict, run_dir: Path) -> None:
    onp, gw0, gw1 = net["onp"], net["gw0"], net["gw1"]
    rd = run_dir / "ok"
    onp0 = Charon(onp, _spec("vpngw0", ONP, GW0, run_dir, initiator=True), rd / "onp")
    onp1 = Charon(onp, _spec("vpngw1", ONP, GW1, run_dir, initiator=True, **SECOND), rd / "onp")
    side0 = Charon(gw0, _spec("vpngw0", GW0, ONP, run_dir, initiator=False), rd / "gw0")
    side1 = Charon(gw1, _spec("vpngw1", GW1, ONP, run_dir, initiator=False), rd / "gw1")
    charons = [onp0, onp1, side0, side1]
    try:
        for charon in charons:
            charon.start()
        side0.load()
        side1.load()
        setup_s = {}
        for charon in (onp0, onp1):
            t0 = time.monotonic()
            charon.load()
            charon.wait_established(timeout=10)
            setup_s[charon.spec.name] = time.monotonic() - t0
        for charon in (side0, side1):
            charon.wait_established(timeout=5)
        assert {c.status()["ike_state"] for c in charons} == {"ESTABLISHED"}
        assert {c.status()["child_state"] for c in charons} == {"INSTALLED"}
        assert onp0.tun != onp1.tun and {onp0.tun, onp1.tun} <= {"ipsec0", "ipsec1"}

        # /run is private to each charon: not in the node's mount namespace, not on the host.
        for charon in charons:
            assert f"{charon.dir}/run /run " in Path(f"/proc/{charon.pid}/mountinfo").read_text()
        assert str(rd) not in Path(f"/proc/{onp.pid}/mountinfo").read_text()
        assert str(rd) not in Path("/proc/self/mountinfo").read_text()
        assert not Path("/run/charon.pid").exists() and not Path("/run/charon.vici").exists()

        onp0.assign_inner("169.254.21.1/30", peer="169.254.21.2")
        side0.assign_inner("169.254.21.2/30", peer="169.254.21.1")
        onp1.assign_inner("169.254.22.1/30", peer="169.254.22.2")
        side1.assign_inner("169.254.22.2/30", peer="169.254.22.1")
        assert "mtu 1400 " in onp.cmd(f"ip link show {onp0.tun}")
        rtt = {"vpngw0": _rtt_ms(onp, "169.254.21.1", "169.254.21.2")}
        rtt["vpngw1"] = _rtt_ms(onp, "169.254.22.1", "169.254.22.2")
        counters = onp1.status()
        assert counters["packets_out"] >= 5 and counters["packets_in"] >= 5 and counters["bytes_in"] > 0
        assert side1.status()["packets_in"] >= 5

        # Fault injection: the gateway deletes the IKE SA; the on-prem initiator re-creates it.
        t0 = time.monotonic()
        side0.terminate_ike()
        time.sleep(0.05)
        onp0.wait_established(timeout=10)
        reestablish_s = time.monotonic() - t0
        _rtt_ms(onp, "169.254.21.1", "169.254.21.2")
        # Deleting only the IPsec SA leaves the IKE SA up; initiate() rebuilds the CHILD SA.
        onp1.delete_child()
        status = onp1.status()
        assert (status["ike_state"], status["child_state"]) == ("ESTABLISHED", None)
        onp1.initiate()
        onp1.wait_established(timeout=5)
        _rtt_ms(onp, "169.254.22.1", "169.254.22.2")
        print(
            f"\nESTABLISHED after load: { {k: round(v * 1000, 1) for k, v in setup_s.items()} } ms;"
            f" ping RTT over tunnel: {rtt} ms;"
            f" re-established after gateway IKE delete: {reestablish_s * 1000:.0f} ms"
        )
    finally:
        tuns = [(c.node, c.tun) for c in charons if c.tun]
        _stop_all(charons)
    for node, tun in tuns:
        assert "does not exist" in node.cmd(f"ip link show {tun}")


def test_wrong_psk_and_proposal_mismatch(net: dict, run_dir: Path) -> None:
    onp, gw0, gw1 = net["onp"], net["gw0"], net["gw1"]
    rd = run_dir / "bad"
    onp_psk = Charon(onp, _spec("vpngw0", ONP, GW0, run_dir, initiator=True), rd / "onp")
    wrong = run_dir / "wrong-psk"
    gw_psk = Charon(gw0, _spec("vpngw0", GW0, ONP, run_dir, initiator=False, psk_file=wrong), rd / "gw0")
    legacy = "aes128-sha1-modp2048"
    onp_prop = Charon(
        onp, _spec("vpngw1", ONP, GW1, run_dir, initiator=True, ike_proposal=legacy, **SECOND), rd / "onp"
    )
    gw_prop = Charon(gw1, _spec("vpngw1", GW1, ONP, run_dir, initiator=False), rd / "gw1")
    charons = [onp_psk, gw_psk, onp_prop, gw_prop]
    try:
        for charon in charons:
            charon.start()
        gw_psk.load()
        gw_prop.load()
        t0 = time.monotonic()
        onp_psk.load()
        onp_prop.load()
        with pytest.raises(TestbedError, match=r"tunnel vpngw0 .*AUTHENTICATION_FAILED.*pre-shared key"):
            onp_psk.wait_established(timeout=15)
        with pytest.raises(TestbedError, match=r"tunnel vpngw0 .*peer 198\.51\.100\.2 .*wrong pre-shared key"):
            gw_psk.wait_established(timeout=2)
        with pytest.raises(TestbedError, match=r"tunnel vpngw1 .*NO_PROPOSAL_CHOSEN: IKE proposal mismatch"):
            onp_prop.wait_established(timeout=15)
        with pytest.raises(TestbedError, match=r"tunnel vpngw1 .*proposed IKE:AES_CBC_128/\S+ but we accept"):
            gw_prop.wait_established(timeout=2)
        elapsed = time.monotonic() - t0
        assert elapsed < 5
        print(f"\nwrong PSK and proposal mismatch: all four errors raised {elapsed * 1000:.0f} ms after load")
    finally:
        _stop_all(charons)


def test_unreachable_peer(net: dict, run_dir: Path) -> None:
    # Nothing answers at 203.0.113.99; short retransmits so the test stays quick.
    charon = Charon(
        net["onp"],
        _spec("vpngw9", ONP, "203.0.113.99", run_dir, initiator=True, retransmit_timeout_s=0.5),
        run_dir / "unreachable",
    )
    try:
        charon.start()
        charon.load()
        with pytest.raises(TestbedError, match=r"tunnel vpngw9 .*not established within 2 s.*unreachable"):
            charon.wait_established(timeout=2)
    finally:
        _stop_all([charon])


def test_leftovers_of_a_killed_run_are_found_and_stopped(net: dict, run_dir: Path) -> None:
    rd = run_dir / "killed"
    charon = Charon(net["gw0"], _spec("vpngw0", GW0, ONP, run_dir, initiator=False), rd)
    try:
        charon.start()
        # As if the run had died here: only the pid file remains to find the charon by.
        assert leftover_pids(rd) == [charon.pid]
        assert kill_leftovers(rd) == [charon.pid]
        assert not alive(charon.pid)
        assert leftover_pids(rd) == [] and not charon.pid_file.exists()
    finally:
        charon.stop()
