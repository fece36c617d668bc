"""Benchmarks: the pure parts (figures, targets, the table, the chain topology) without root,
then ``testbed bench --quick`` as a smoke test: every figure is in bench.json (no timing asserts)."""
from __future__ import annotations

import io

from testbed.bench import report as bench_report
from testbed.bench import targets as bench_targets
from testbed.bench.series import Series
from testbed.model import catalog


def fig(*values: float) -> dict:
    s = Series("s")
    for v in values:
        s.add(v, load=1.0)
    return s.to_dict()


def test_a_series_keeps_each_value_with_its_load_and_summarises_it():
    s = Series("s")
    for v, load in ((3.0, 0.5), (1.0, 0.7), (2.0, 0.9)):
        s.add(v, load)
    s.add(None)  # a repetition that measured nothing
    d = s.to_dict()
    assert (d["n"], d["min"], d["median"], d["max"]) == (3, 1.0, 2.0, 3.0)
    assert d["values"] == [3.0, 1.0, 2.0] and d["load_1min"] == [0.5, 0.7, 0.9]


def test_the_chain_has_n_routers_and_pings_only_within_the_ttl():
    short = catalog.build("chain", {"chain.routers": 4})
    assert list(short.routers) == ["r1", "r2", "r3", "r4"] and len(short.links) == 5
    assert {n.remote_as for n in short.routers["r2"].neighbors} == {4_200_000_001, 4_200_000_003}
    assert short.reach and {e.node for e in short.fib} == {"r1", "r4"}
    assert catalog.build("chain", {"chain.routers": 64}).reach == []


def synthetic_doc() -> dict:
    stages = {"nodes_ready": fig(0.3), "frr_started": fig(0.9), "bgp": fig(2.0), "fib": fig(2.2),
              "reach": fig(2.3), "total": fig(2.3), "bfd": fig(3.0)}
    return {
        "mode": "quick", "duration_s": 1.0,
        "machine": {"cores": 2, "kernel": "6.1", "frr": "FRR 8.4", "strongswan": "5.9", "load_avg_start": [1, 1, 1],
                    "load_avg_end": [1, 1, 1]},
        "bringup": {"expressroute": {"stages_s": stages}, "hybrid": {"stages_s": {**stages, "total": fig(2.9)}}},
        "trials": {"scenario": "er-primary-blackhole", "cycle_s": fig(8.0, 9.0), "trials_per_min": 7.1,
                   "phases_s": {"recovery": fig(2.0)}, "overhead_s": 12.0, "thirty_trials_s": 267.0,
                   "thirty_trials_measured": False},
        "fib_scale": {"sizes": {"10000": {"first_moved_s": fig(0.18), "last_moved_s": fig(0.28),
                                          "kernel_install_s": fig(0.07), "ratio_to_kernel": fig(4.0)}}},
        "probe_cpu": [{"flows": 4, "rate_pps_per_flow": 250.0, "packets_per_s": 2000.0,
                       "cpu_percent": fig(7.0), "cpu_percent_per_1000pps": fig(3.5)}],
        "memory": {"router_node_mib": fig(40.0), "per_daemon_mib": {"bgpd": fig(16.0)}},
        "chain": {"limit_s": 60.0, "largest_fitting": 16, "stopped": "cap",
                  "steps": [{"routers": 8, "bringup_s": 3.5}, {"routers": 16, "bringup_s": 4.8}]},
    }


def test_targets_are_judged_with_where_the_time_went():
    v = {t["figure"]: t for t in bench_targets.evaluate(synthetic_doc())}
    er, hybrid = v["expressroute bring-up"], v["hybrid bring-up"]
    assert er["met"] is False and "BGP +1.10" in er["where"] and er["remedy"]
    assert "FIB +0.20" in er["where"] and "BFD up at 3.00, checked apart" in er["where"]
    assert hybrid["met"] is True and hybrid["remedy"] == ""
    assert v["30 trials of er-primary-blackhole"]["met"] is False
    assert v["er-primary-blackhole trial cycle"]["met"] is False and "recovery 2.00" in v["er-primary-blackhole trial cycle"]["where"]
    assert v["10,000-prefix failover / kernel install"]["met"] is True


def test_the_table_has_a_row_per_figure():
    from rich.console import Console
    doc = synthetic_doc()
    doc["targets"] = bench_targets.evaluate(doc)
    con = Console(file=io.StringIO(), width=200)
    con.print(bench_report.table(doc))
    text = con.file.getvalue()
    for want in ("bring-up expressroute", "trial cycle", "failover 10,000", "probe CPU", "memory per router",
                 "chain"):
        assert want in text
    assert any(line.startswith("[red]missed[/]") for line in bench_report.target_lines(doc))
