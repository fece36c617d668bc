"""Users' own networks, for real: a network file with two circuits, a hub and two spokes comes
up with the spokes apart as in Azure, and an edge config written for a real device runs
unchanged and passes its policy tests (root: real FRR and strongSwan)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testbed.model import catalog
from testbed.observe import converge, fib
from testbed.runtime.net import Network

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_two_circuits_hub_spoke_reaches_every_spoke_but_not_spoke_to_spoke():
    with Network(catalog.build("two-circuits-hub-spoke"), run="ittcs") as net:
        converge.wait_converged(net)
        addr = net.topo.address
        for src, dst in (("h1", "vm2"), ("h2", "vm3"), ("vm2", "h1"), ("vm3", "h2"), ("h2", "vm1")):
            assert net.ping(src, addr(dst), count=2), f"{src} cannot reach {dst}"
        # VNet peering is not transitive: neither spoke has a route to the other
        for src, dst in (("vm2", "vm3"), ("vm3", "vm2")):
            assert not net.ping(src, addr(dst)), f"{src} reaches {dst}: spokes must not reach each other"
        assert "10.102.0.0/16" not in fib.table(net, "spoke1") and "10.101.0.0/16" not in fib.table(net, "spoke2")
        # on-prem prefers Amsterdam (local preference 200 over Frankfurt's 150)
        assert sorted(fib.via(net, "core", "10.100.0.0/16")) == ["core-ams1", "core-ams2"]


def test_an_edge_config_written_for_a_real_device_runs_unchanged_and_passes_its_policy_tests():
    res = subprocess.run([sys.executable, "-m", "pytest", "examples/own-network/test_edge_policy.py", "-q", "-rfE",
                          "-p", "no:cacheprovider", "--testbed-run=itedge"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "3 passed" in res.stdout


def test_an_azure_export_imports_and_converges(tmp_path):
    from testbed.azure import importer
    out = tmp_path / "h.yaml"
    importer.run(ROOT / "examples" / "azure-export" / "two-circuits", out)
    with Network(catalog.build(str(out)), run="itimport") as net:
        converge.wait_converged(net)
        # active-standby: one tunnel, to vpngw0; vpngw1 waits with its links down and its charon loaded
        assert [(t.label, t.azure, t.standby) for t in net.topo.tunnels] == [("vpngw-to-onprem-tunnel0", "vpngw0", "vpngw1")]
        assert "state DOWN" in net.cmd("vpngw1", "ip -o link show vpngw1-eth0")
        assert [r["side"] for r in net.tunnels.status() if r["node"] == "vpngw1"] == ["standby"]
        assert sorted(fib.via(net, "core", "10.10.0.0/16")) == ["core-ce1", "core-ce2"]   # the weight-100 circuit
