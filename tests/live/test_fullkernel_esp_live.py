"""Kernel ESP: both tunnels over XFRM interfaces, found by auto, and an IKE daemon crash's kernel state."""
from __future__ import annotations

import os
import re

import pytest

from testbed.model import catalog
from testbed.observe import converge
from fullkernel import RELAXED, RUN, SLOW, needs_xfrm

pytestmark = [pytest.mark.integration, pytest.mark.fullkernel]


# --- kernel ESP -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vpn():
    from testbed.runtime.net import Network
    with Network(catalog.build("vpn", {"vpn.dataplane": "auto", **SLOW}), run=RUN) as n:
        converge.wait_converged(n)
        yield n


@needs_xfrm
def test_auto_finds_kernel_esp_and_both_tunnels_carry_traffic_through_xfrm_interfaces(vpn):
    assert vpn.state["dataplane"] == "kernel", vpn.state.get("dataplane_why")
    assert vpn.state["dataplane_why"] == "auto: the kernel has XFRM interfaces and ESP"
    rows = vpn.tunnels.status()
    assert {r["dataplane"] for r in rows} == {"kernel XFRM (kernel-netlink)"}
    assert all(r["child_state"] == "INSTALLED" for r in rows), rows
    for t in vpn.topo.tunnels:
        link = vpn.cmd(t.onprem, f"ip -d link show dev {t.onprem_tun}")
        assert "xfrm if_id" in link, link
        # ESP in the kernel: its SAs are in the kernel's database and count what they carry
        before = _esp_packets(vpn, t.onprem)
        vpn.cmd("h1", f"ping -c 20 -i 0.05 -W 1 {vpn.topo.address('vm1')}")
        assert _esp_packets(vpn, t.onprem) > before
    print(f"\nkernel {os.uname().release}: {len(rows)} tunnel ends with kernel ESP: "
          + ", ".join(f"{r['tunnel']}@{r['node']} {r['ike_state']}/{r['child_state']}" for r in rows))


def _esp_packets(net, node: str) -> int:
    """Packets the kernel's ESP SAs in ``node`` have processed (``ip -s xfrm state``)."""
    out = net.cmd(node, "ip -s xfrm state")
    return sum(int(n) for n in re.findall(r"(\d+)\(packets\)", out))


@needs_xfrm
def test_a_killed_ike_daemon_takes_its_kernel_sas_with_it_and_restarts_clean(vpn):
    t = vpn.topo.tunnels[0]
    charon = vpn.tunnels.charon(t, "azure")
    charon.kill()
    assert f"src {t.azure_outer} dst {t.onprem_outer}" not in vpn.cmd(t.azure, "ip xfrm state")
    assert t.azure_tun not in vpn.cmd(t.azure, "ip -br link")
    vpn.tunnels.restart(t.label, "azure")
    vpn.tunnels.charon(t, "on-prem").initiate()
    vpn.tunnels.charon(t, "on-prem").wait_established(120 if RELAXED else 20)
    converge.wait_converged(vpn)


