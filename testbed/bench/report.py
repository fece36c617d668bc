"""The short table of a bench document (``bench.json``) and its targets, for the terminal."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

Row = tuple[str, Mapping[str, Any] | None, str]   # (figure, series dict, note)


def _num(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "s" and v < 1:
        return f"{v * 1000:.0f} ms"
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"


def _loads(fig: Mapping[str, Any]) -> str:
    loads = fig.get("load_1min") or []
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"


def _stage_note(stages: Mapping[str, Any]) -> str:
    keys = (("FRR", "frr_started"), ("IPsec", "tunnels_up"), ("BGP", "bgp"), ("BFD", "bfd"), ("FIB", "fib"))
    return "at " + ", ".join(f"{label} {stages[k]['median']:.2f}" for label, k in keys if k in stages)


def _chain_time(step: Mapping[str, Any]) -> str:
    if step["bringup_s"] is not None:
        return f"{step['bringup_s']:.1f} s"
    return f"> {step['gave_up_after_s']:.0f} s" if "gave_up_after_s" in step else "did not start"


def rows(doc: Mapping[str, Any]) -> Iterator[Row]:
    for topo, b in doc.get("bringup", {}).items():
        st = b["stages_s"]
        yield f"bring-up {topo} (s)", st.get("total"), _stage_note(st)
    t = doc.get("trials")
    if t:
        how = "measured" if t["thirty_trials_measured"] else "projected"
        yield (f"trial cycle {t['scenario']} (s)", t["cycle_s"],
               f"{t['trials_per_min']} trials/min; 30 trials {t['thirty_trials_s']} s ({how})")
    for n, s in doc.get("fib_scale", {}).get("sizes", {}).items():
        yield (f"failover {int(n):,} prefixes, last moved (s)", s["last_moved_s"],
               f"first {_num(s['first_moved_s']['median'], 's')}, kernel {_num(s['kernel_install_s']['median'], 's')}")
        yield f"  failover / kernel install ({int(n):,}) (x)", s["ratio_to_kernel"], ""
    for p in doc.get("probe_cpu", []):
        yield (f"probe CPU per 1,000 pkt/s, {p['flows']} x {p['rate_pps_per_flow']:g}/s (%)",
               p["cpu_percent_per_1000pps"], f"{_num(p['cpu_percent']['median'], '%')} % at {p['packets_per_s']:,.0f} pkt/s")
    mem = doc.get("memory")
    if mem:
        daemons = ", ".join(f"{d} {f['median']:.1f}" for d, f in mem["per_daemon_mib"].items())
        yield "memory per router node (MiB RSS)", mem["router_node_mib"], f"median per daemon: {daemons}"
    chain = doc.get("chain")
    if chain:
        steps = ", ".join(f"{s['routers']}: {_chain_time(s)}" for s in chain["steps"])
        yield f"chain: largest N up in <= {chain['limit_s']:g} s", None, f"{chain['largest_fitting']} ({steps}; stopped: {chain['stopped']})"


def table(doc: Mapping[str, Any]):
    from rich import box
    from rich.table import Table
    m = doc["machine"]
    caption = (f"{doc['mode']} run, {m['cores']} cores, kernel {m['kernel']}, {m['frr']}, {m['strongswan']}; "
               f"load avg at start {', '.join(f'{x:.2f}' for x in m['load_avg_start'])}, "
               f"at end {', '.join(f'{x:.2f}' for x in m.get('load_avg_end', []))}; {doc.get('duration_s')} s")
    t = Table(title="testbed bench", caption=caption, box=box.SIMPLE_HEAD)
    for col, just in (("figure", "left"), ("min", "right"), ("median", "right"), ("max", "right"),
                      ("n", "right"), ("load 1m", "right"), ("note", "left")):
        t.add_column(col, justify=just)
    for name, fig, note in rows(doc):
        if fig is None:
            t.add_row(name, "", "", "", "", "", note)
            continue
        unit = "s" if name.endswith("(s)") else ""
        t.add_row(name, _num(fig["min"], unit), _num(fig["median"], unit), _num(fig["max"], unit),
                  str(fig["n"]), _loads(fig), note)
    return t


def target_lines(doc: Mapping[str, Any]) -> list[str]:
    out = []
    for v in doc.get("targets", []):
        mark = {True: "[green]met[/]", False: "[red]missed[/]", None: "[yellow]n/a[/]"}[v["met"]]
        value = "-" if v["value"] is None else f"{v['value']:.2f} {v['unit']}"
        out.append(f"{mark} {v['figure']}: {value} (target {v['target']}); {v['where']}")
        if v["remedy"]:
            out.append(f"    what would remove it: {v['remedy']}")
    return out
