"""A run as one self-contained HTML page (``testbed report DIR --html FILE``): mailable, opens
offline, nothing fetched. The data of every chart is inlined as JSON and drawn as SVG by a
small vanilla script (``report.js`` beside this module, inlined too); the network picture is a
PNG data URI. The charts take their colours and event lines from :mod:`testbed.results.plots`,
so the page and the PNGs of a run read the same.

Per run: the verdict and the trials' verdicts, the gate's breaches when a baseline was given,
the outage table (with the baseline's figures), the ECDF of the outages (the baseline's beside
it), each trial's timeline per direction (drag across it or press "fault window" to zoom in;
double-click for the whole trial), the network picture, the parameters and the versions.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from matplotlib.colors import to_hex

from testbed.results import plots
from testbed.results.gate import noise
from testbed.results.trial import Trial

DASHES = {"-": "", "--": "6,4", ":": "2,3"}
TABLE_METRICS = (("outage_ms", "outage"), ("restore_outage_ms", "failback"), ("detection_ms", "detection"),
                 ("fib_ms", "first FIB change"), ("settled_ms", "settled"))
TABLE_STATS = ("n", "p50", "p95", "min", "max", "mean", "stdev")


@dataclass
class RunPage:
    """What the page shows of one run."""

    summary: Mapping[str, Any]
    trials: list[Trial]
    baseline: Mapping[str, Any] | None = None
    breaches: list[str] = field(default_factory=list)
    picture_png: bytes | None = None     # the network picture (drawn by the caller: a ui concern)
    picture_note: str = ""               # why there is none


# --- the charts' data ----------------------------------------------------------------------------
def _event(trial: Trial, e) -> dict[str, Any]:
    colour, style, name = plots.event_style(e)
    return {"x": trial.rel_ms(e.t_ns), "colour": to_hex(colour), "dash": DASHES[style],
            "label": plots.event_label(e), "kind": name}


def timeline_data(trial: Trial) -> dict[str, Any] | None:
    """One trial's chart: packets/s per path and direction, its event lines and outage spans."""
    tr = trial.traffic
    if not tr or trial.inject_ns is None:
        return None
    bucket, origin = tr["bucket_ms"], trial.rel_ms(tr["origin_ns"])
    events = plots.marked_events(trial.events, any(e.source == "fib" for e in trial.events))
    directions = []
    for name, series in tr["directions"].items():
        colours = plots.path_colours(series)
        d = trial.directions.get(name)
        spans = []
        for attr, colour in (("outage_span_ns", "#d62728"), ("restore_span_ns", "#2ca02c")):
            found = [s for f in (d.flows if d else []) if (s := getattr(f, attr))]
            if found:
                s0, s1 = max(found, key=lambda s: s[1] - s[0])
                spans.append({"x0": trial.rel_ms(s0), "x1": trial.rel_ms(s1), "colour": colour})
        directions.append({
            "name": name,
            "title": f"{name}: outage {d.outage_ms:.0f} ms, failback {d.restore_outage_ms:.0f} ms" if d else name,
            "series": [{"name": p, "colour": to_hex(colours[p]), "x0": origin, "dx": bucket,
                        "ys": [round(n * 1000.0 / bucket) for n in counts]} for p, counts in sorted(series.items())],
            "spans": spans})
    return {"trial": trial.index, "ok": trial.ok, "window": [round(x, 1) for x in plots.fault_window(trial)],
            "events": [_event(trial, e) for e in events if trial.rel_ms(e.t_ns) is not None],
            "directions": directions}


def _ecdf_series(summary: Mapping[str, Any], label: str, dash: str) -> list[dict[str, Any]]:
    out = []
    for metric, name, colour in (("outage_ms", "outage", "#d62728"), ("restore_outage_ms", "failback", "#2ca02c")):
        v = sorted(r[metric] for r in summary.get("trials", []) if r.get(metric) is not None)
        if v:
            out.append({"name": f"{label} {name}", "colour": colour, "dash": dash, "xs": v,
                        "ys": [(k + 1) / len(v) for k in range(len(v))]})
    return out


def chart_data(run: RunPage) -> dict[str, Any]:
    ecdf = _ecdf_series(run.summary, "this run:", "")
    if run.baseline:
        ecdf += _ecdf_series(run.baseline, "baseline:", "6,4")
    return {"ecdf": ecdf, "timelines": [t for t in map(timeline_data, run.trials) if t]}


# --- the page ----------------------------------------------------------------------------------
def _ms(v: Any) -> str:
    return "-" if v is None else f"{v:.0f}" if isinstance(v, float) else str(v)


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _verdict(ok: Any) -> str:
    return '<span class="pass">PASS</span>' if ok else '<span class="fail">FAIL</span>'


def _trials_table(s: Mapping[str, Any]) -> str:
    rows = []
    for r in s.get("trials", []):
        during = sorted({v for k, v in r.items() if k.endswith(" paths during")})
        rows.append([str(r["trial"]), _verdict(r.get("ok")), _ms(r.get("outage_ms")), _ms(r.get("restore_outage_ms")),
                     _ms(r.get("detection_ms")), escape(" | ".join(during)), escape(r.get("reason") or "")])
    return _table(["trial", "verdict", "outage ms", "failback ms", "detection ms", "paths during the fault",
                   "reason"], rows, "trials")


def _stats_table(run: RunPage) -> str:
    rows = []
    for metric, name in TABLE_METRICS:
        for label, s in (("this run", run.summary), ("baseline", run.baseline)):
            if s is None:
                continue
            st = s.get("stats", {}).get(metric, {})
            rows.append([escape(name), label] + [_ms(st.get(k)) for k in TABLE_STATS])
    return _table(["figure (ms)", "run", *TABLE_STATS], rows, "stats")


def _gate(run: RunPage) -> str:
    if run.baseline is None:
        return ""
    b = run.baseline
    lines = [f"<p>Baseline: {escape(b.get('scenario', ''))} {escape(b.get('started_utc', ''))}, "
             f"{_verdict(b.get('ok'))}. Outage {escape(noise(run.summary, b, 'outage_ms'))}; failback "
             f"{escape(noise(run.summary, b, 'restore_outage_ms'))}.</p>"]
    if run.breaches:
        lines.append('<ul class="breaches">' + "".join(f"<li>{escape(x)}</li>" for x in run.breaches) + "</ul>")
    return '<section class="gate"><h3>Against the baseline</h3>' + "".join(lines) + "</section>"


def _params(s: Mapping[str, Any]) -> str:
    over = s.get("overrides", {})
    rows = [[escape(k), escape(str(v)), "set" if k in over else ""] for k, v in sorted(s.get("params", {}).items())]
    versions = _table(["software", "version"], [[escape(k), escape(str(v))] for k, v in s.get("versions", {}).items()]
                      + [["cpus", _ms(s.get("cpus"))], ["load at start", escape(str(s.get("load_at_start", "")))]],
                      "versions")
    changed = ", ".join(f"{escape(k)}={escape(str(v))}" for k, v in over.items()) or "none (Azure's defaults)"
    return (f'<section class="params"><h3>Parameters and versions</h3><p>Set for this run: {changed}</p>'
            f"{versions}<details><summary>all parameters</summary>"
            f'{_table(["parameter", "value", ""], rows, "allparams")}</details></section>')


def _picture(run: RunPage) -> str:
    if run.picture_png is None:
        return f'<section class="network"><h3>The network</h3><p>{escape(run.picture_note)}</p></section>'
    uri = "data:image/png;base64," + base64.b64encode(run.picture_png).decode()
    return (f'<section class="network"><h3>The network</h3>'
            f'<img class="network-picture" alt="the network of the run" src="{uri}"></section>')


def _article(k: int, run: RunPage) -> str:
    s = run.summary
    title = f"{s['scenario']} {s.get('started_utc', '')}"
    trials = "".join(f'<figure class="timeline" data-run="{k}" data-trial="{t.index}"></figure>' for t in run.trials
                     if t.traffic)
    return (f'<article class="run" id="run{k}"><h2>{escape(title)} {_verdict(s.get("ok"))}</h2>'
            f'<p class="what">{escape(s.get("description", ""))}<br>topology {escape(str(s.get("topology")))}; '
            f'fault: {escape(str(s.get("fault")))}; {s.get("passed", 0)} of {s.get("trials_done", 0)} trials passed</p>'
            f'<section class="verdicts"><h3>Trials</h3>{_trials_table(s)}</section>{_gate(run)}'
            f'<section class="outages"><h3>Outages</h3>{_stats_table(run)}'
            f'<figure class="ecdf" data-run="{k}"></figure></section>'
            f'<section class="timelines"><h3>Timelines</h3><p class="help">Drag across a chart to zoom in, '
            f'double-click for the whole trial.</p>{trials}</section>{_picture(run)}{_params(s)}</article>')


def page(runs: list[RunPage]) -> str:
    asset = resources.files("testbed.results")
    css, js = (asset / "report.css").read_text(), (asset / "report.js").read_text()
    # "</" cannot end the inline JSON early: escaped as "<\/" (still valid JSON)
    data = json.dumps([chart_data(r) for r in runs]).replace("</", "<\\/")
    ok = all(r.summary.get("ok") for r in runs) and not any(r.breaches for r in runs)
    title = ", ".join(sorted({r.summary["scenario"] for r in runs}))
    n = sum(len(r.breaches) for r in runs)
    gate = f' <span class="gate-note">(against the baseline: {n} breach{"es" if n != 1 else ""})</span>' if n else ""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>testbed report: {escape(title)}</title><style>{css}</style></head><body>"
            f'<header><h1>Failover report: {escape(title)} {_verdict(ok)}{gate}</h1></header>'
            + "".join(_article(k, r) for k, r in enumerate(runs))
            + f'<script id="chart-data" type="application/json">{data}</script><script>{js}</script></body></html>')


def write(path: Path, runs: list[RunPage]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(runs))
    return path
