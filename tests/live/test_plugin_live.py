"""The pytest plugin: how a module's marker and the command line combine (no root), and a test
of the tests: the example policy tests pass with the example configs, and with the broken
variant exactly the right one fails, saying what is wrong (root: real FRR and strongSwan)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "policy"


def run_example(run: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", str(EXAMPLE / "test_policy.py"), "-q", "-rfE",
                           "-p", "no:cacheprovider", f"--testbed-run={run}", *options],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.integration
def test_example_policy_passes_with_the_example_configs():
    res = run_example("polgood")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "4 passed" in res.stdout


@pytest.mark.integration
def test_broken_variant_fails_the_preference_test_and_says_why():
    res = run_example("polbroken", f"--testbed-config=vpn1={EXAMPLE / 'broken' / 'vpn1.conf'}")
    out = res.stdout
    assert res.returncode == 1, out[-3000:] + res.stderr[-2000:]
    assert "1 failed, 3 passed" in out, out[-3000:]
    assert "FAILED examples/policy/test_policy.py::test_expressroute_preferred_both_ways" in out
    # the message names the direction that went wrong and the path it took instead
    assert "traffic between h1 and vm1 should take ExpressRoute both ways" in out
    assert "h1 -> vm1 (10.10.1.4) goes onprem-lan > core-vpn1 > vpn-tunnel0 > vpngw0-vnet > vnet-subnet, " \
           "not through er-primary or er-secondary" in out
    assert "vm1 -> h1 (10.20.1.10) goes" not in out   # Azure still answers over ExpressRoute
