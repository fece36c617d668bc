"""Benchmarks: the pure parts (figures, targets, the table, the chain topology) without root,
then ``testbed bench --quick`` as a smoke test: every figure is in bench.json (no timing asserts)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


SERIES_KEYS = {"unit", "n", "min", "median", "max", "values", "load_1min"}


def has_series(d: dict) -> bool:
    return SERIES_KEYS <= set(d) and d["n"] >= 1


# alone: its figures are timings, and its chain loads both cores
pytestmark = pytest.mark.alone

@pytest.mark.integration
def test_quick_bench_writes_every_figure(tmp_path):
    res = subprocess.run([sys.executable, "-m", "testbed.ui.cli", "bench", "--quick", "--json", "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads((tmp_path / "bench.json").read_text())
    assert doc == json.loads(res.stdout)
    m = doc["machine"]
    assert m["cores"] and m["kernel"] and m["frr"] and m["strongswan"] and len(m["load_avg_end"]) == 3
    for topo in ("expressroute", "vpn", "hybrid"):
        stages = doc["bringup"][topo]["stages_s"]
        assert all(has_series(stages[k]) for k in ("nodes_ready", "frr_started", "bgp", "bfd", "fib", "reach", "total"))
    assert has_series(doc["bringup"]["hybrid"]["stages_s"]["tunnels_up"])
    t = doc["trials"]
    assert has_series(t["cycle_s"]) and t["trials_per_min"] and t["thirty_trials_s"]
    assert all(has_series(t["phases_s"][p]) for p in ("before_fault", "fault_settled", "recovery", "after"))
    size = doc["fib_scale"]["sizes"]["1000"]
    assert all(has_series(size[k]) for k in ("first_moved_s", "last_moved_s", "kernel_install_s", "ratio_to_kernel"))
    assert size["moved_prefixes"] == [1000] * len(size["moved_prefixes"])
    assert len(doc["probe_cpu"]) == 2 and all(has_series(p["cpu_percent_per_1000pps"]) for p in doc["probe_cpu"])
    mem = doc["memory"]
    assert has_series(mem["router_node_mib"]) and {"bgpd", "zebra", "charon"} <= set(mem["per_daemon_mib"])
    assert doc["chain"]["steps"] and doc["chain"]["largest_fitting"]
    assert len(doc["targets"]) == 5
