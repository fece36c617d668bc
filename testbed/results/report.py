"""Results for people and for change: the table of runs, a run against a baseline."""
from __future__ import annotations

from typing import Any, Iterable, Mapping


def compare(current: Mapping[str, Any], baseline: Mapping[str, Any],
            metrics: Iterable[str] = ("outage_ms", "restore_outage_ms", "detection_ms"),
            figures: Iterable[str] = ("p50", "p95", "max", "mean")) -> list[dict[str, Any]]:
    """Per metric and statistic: baseline, current, change (ms and %)."""
    rows = []
    for m in metrics:
        cur, base = current["stats"].get(m, {}), baseline["stats"].get(m, {})
        for fig in figures:
            a, b = base.get(fig), cur.get(fig)
            delta = None if a is None or b is None else round(b - a, 3)
            pct = None if delta is None or not a else round(100.0 * delta / a, 1)
            rows.append({"metric": m, "stat": fig, "baseline": a, "current": b, "delta": delta, "pct": pct})
    return rows


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"


def summary_table(summaries: list[Mapping[str, Any]]):
    """One row per run: verdict, outage statistics, failback, detection."""
    from rich import box
    from rich.table import Table
    t = Table(title="Failure scenarios (ms; outage = longest gap of any flow, either direction)",
              box=box.SIMPLE_HEAD)
    for col in ("scenario", "run", "trials", "verdict", "outage p50", "p95", "min", "max", "mean", "stdev",
                "failback max", "detection p50"):
        t.add_column(col, justify="left" if col in ("scenario", "run", "verdict") else "right")
    for s in summaries:
        o, r, d = (s["stats"].get(k, {}) for k in ("outage_ms", "restore_outage_ms", "detection_ms"))
        verdict = "[green]PASS[/]" if s.get("ok") else "[red]FAIL[/]"
        done, planned = s.get("trials_done", 0), s.get("trials_planned", 0)
        trials = f"{s.get('passed', 0)}/{done}" + (f" of {planned}" if planned > done else "")
        t.add_row(s["scenario"], s.get("started_utc", ""), trials,
                  verdict, _ms(o.get("p50")), _ms(o.get("p95")), _ms(o.get("min")), _ms(o.get("max")),
                  _ms(o.get("mean")), _ms(o.get("stdev")), _ms(r.get("max")), _ms(d.get("p50")))
    return t


def failures(summary: Mapping[str, Any]) -> list[str]:
    """A line per failed trial: its number and the reason."""
    return [f"trial {r['trial']}: {r['reason']}" for r in summary.get("trials", []) if not r.get("ok")]


def diff_table(current: Mapping[str, Any], baseline: Mapping[str, Any]):
    from rich import box
    from rich.table import Table
    a, b = baseline.get("params", {}), current.get("params", {})
    changed = [f"{k} {a.get(k)} -> {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    t = Table(title=f"{current['scenario']}: {current.get('started_utc')} against baseline "
                    f"{baseline.get('started_utc')} (ms)", box=box.SIMPLE_HEAD,
              caption=f"parameters changed: {', '.join(changed)}" if changed else "same parameters")
    for col in ("metric", "stat", "baseline", "current", "change", "%"):
        t.add_column(col, justify="left" if col in ("metric", "stat") else "right")
    for row in compare(current, baseline):
        d = row["delta"]
        colour = "" if d is None or abs(d) < 1 else ("red" if d > 0 else "green")
        change = "-" if d is None else f"[{colour}]{d:+.0f}[/]" if colour else f"{d:+.0f}"
        t.add_row(row["metric"], row["stat"], _ms(row["baseline"]), _ms(row["current"]), change,
                  "-" if row["pct"] is None else f"{row['pct']:+.1f}")
    return t
