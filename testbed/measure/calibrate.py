"""Calibration of the measurement chain: inject outages of known length, measure them.

The network is the ``pair`` topology (hosts ``a`` and ``b`` on one link, ``cal-link``), brought
up by :class:`~testbed.runtime.net.Network` and converged like any run, under a run name of its
own (``cal<pid>``). The probe pair (:func:`testbed.measure.probepair.probes`, a flow per port,
both directions at once) runs between the topology's endpoints, and each outage is the
project's own :class:`~testbed.faults.drop.Blackhole` on the link: ``inject`` then ``restore``,
the nftables transactions a scenario's silent failure applies (``testbed.system.nft``, in
process). Each fault event brackets the instant its transaction took effect: ``issued_ns``
just before the call and ``t_ns`` when libnftables' call returned, once the kernel had
committed the batch (0.2-0.6 ms later; ``testbed.system.nft`` stamps it before freeing its
context, whose clean-up can take another 7-20 ms).

The injected window is ``t(restore) - t(inject)``, commit to commit; the restore is issued
``W`` after the inject was. The fault is armed first (``Fault.armed``: its table and chains
made before the probes start), so inject and restore are one rule change each (0.3-0.7 ms).
The worst-case bracket is ``[issued(restore) - t(inject), t(restore) - issued(inject)]``; both
transactions' median durations, measured on the same network before the probes start, are
reported with the result.

For every injection and direction the probe records give:

* **timestamp method** (RFC 6414, what the testbed reports as ``outage_ms``): the longest
  flow gap, first good packet after minus last good packet before.  For a window W and
  packet interval I it lies in ``[W, W + 2I)``.
* **loss-derived** (RFC 6412): packets lost / offered load over all flows; in
  ``(W - I, W + I)``.

Each bound widens by the fault's bracket (the two transactions' durations).  The acceptance
rule is ``|measured - injected| <= 2 ms`` for every outage of 20 ms or more, for both methods.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from testbed.errors import TestbedError
from testbed.faults.drop import Blackhole
from testbed.measure import flowplan, probepair
from testbed.measure.outage import analyze_files
from testbed.measure.records import load_meta
from testbed.model import catalog
from testbed.model.events import Event, now_ns
from testbed.observe import converge
from testbed.runtime.net import Network

MS = 1_000_000
DEFAULT_OUTAGES_MS = (20, 100, 500, 2000)
TOLERANCE_MS = 2.0
TOPOLOGY = "pair"
COST_SAMPLES = 5  # inject/restore rounds that measure the transactions' costs before the probes


# --- injection ---------------------------------------------------------------------------------
def sleep_until(t_ns: int) -> None:
    while True:
        left = t_ns - now_ns()
        if left <= 0:
            return
        time.sleep(left / 1e9 if left > 2 * MS else left / 2e9)


def window(a1: int, a2: int, d1: int, d2: int) -> dict[str, int]:
    """Injected window from the fault's stamps (``a``: inject, ``d``: restore; 1: issued,
    2: committed): the estimate (commit to commit) and the worst-case bracket."""
    return {"add_issue_ns": a1, "add_return_ns": a2, "del_issue_ns": d1, "del_return_ns": d2,
            "window_ns": d2 - a2, "window_min_ns": d1 - a2, "window_max_ns": d2 - a1}


def _cost(e: Event) -> int:
    return e.t_ns - e.detail["issued_ns"]


def transaction_costs_ns(net: Network, fault: Blackhole, n: int = COST_SAMPLES) -> tuple[int, int]:
    """Median durations (issue to return) of the fault's inject and restore transactions."""
    inject, restore = [], []
    for _ in range(n):
        inject.append(_cost(fault.inject(net)))
        restore.append(_cost(fault.restore(net)))
    return int(statistics.median(inject)), int(statistics.median(restore))


def pulse(net: Network, fault: Blackhole, width_ns: int) -> dict[str, int]:
    """The fault for ``width_ns`` (the restore issued that long after the inject); the stamps
    and the injected window."""
    inj = fault.inject(net)
    sleep_until(inj.detail["issued_ns"] + width_ns)
    rst = fault.restore(net)
    return window(inj.detail["issued_ns"], inj.t_ns, rst.detail["issued_ns"], rst.t_ns)


# --- analysis (pure) -----------------------------------------------------------------------------
def gap_for(flow_result: Any, w: dict[str, int]):
    """The gap of a flow that overlaps an injection window (send-time space), or None."""
    lo, hi = w["add_issue_ns"], w["del_return_ns"]
    for g in flow_result.gaps:
        if g.start_ns is not None and g.end_ns is not None and g.start_ns < hi and g.end_ns > lo:
            return g
    return None


def error_bounds_ms(interval_ms: float, w: dict[str, int], lateness_ms: float = 0.0) -> dict[str, list[float]]:
    """Where measured - injected must fall for each method, given the packet interval I, the
    fault's bracket and the sender's worst send lateness L (a stalled sender moves the
    packets around the edges of the window):  timestamp in [-del, 2I + add + 2L],
    loss-derived in [-I - del - L, I + add + L]  (add/del: the inject's and the restore's
    durations: each took effect between its issue and its commit stamp, so the true window
    starts up to ``add`` before the estimate's start and ends up to ``del`` before its end)."""
    lo_extra = (w["del_return_ns"] - w["del_issue_ns"]) / MS  # true window may be this shorter
    hi_extra = (w["add_return_ns"] - w["add_issue_ns"]) / MS  # ... or this longer
    L = max(0.0, lateness_ms)
    return {"timestamp": [round(-lo_extra, 3), round(2 * interval_ms + hi_extra + 2 * L, 3)],
            "loss": [round(-interval_ms - lo_extra - L, 3), round(interval_ms + hi_extra + L, 3)]}


def measure_row(res: Any, w: dict[str, int], nominal_ms: float,
                lateness_ms: dict[str, float] | None = None) -> dict[str, Any]:
    """One injection: what each direction measured by both methods, and the errors.
    ``lateness_ms[direction]``: the sender's worst send lateness (widens the bounds)."""
    inj_ms = w["window_ns"] / MS
    row: dict[str, Any] = {
        "nominal_ms": nominal_ms, "injected_ms": round(inj_ms, 4),
        "bracket_ms": [round(w["window_min_ns"] / MS, 4), round(w["window_max_ns"] / MS, 4)],
        "add_cost_us": (w["add_return_ns"] - w["add_issue_ns"]) // 1000,
        "del_cost_us": (w["del_return_ns"] - w["del_issue_ns"]) // 1000,
        "directions": {},
    }
    for name, d in res.directions.items():
        I_ms = d.interval_ns / MS
        gaps = [gap_for(f, w) for f in d.flows]
        entry: dict[str, Any] = {"interval_ms": I_ms, "bounds_ms": error_bounds_ms(
            I_ms, w, (lateness_ms or {}).get(name, 0.0))}
        if not d.flows or any(g is None for g in gaps):
            entry.update(timestamp_ms=None, loss_ms=None, timestamp_err_ms=None, loss_err_ms=None,
                         missing_flows=[f.flow for f, g in zip(d.flows, gaps) if g is None])
        else:
            ts = max(g.duration_ms for g in gaps)
            loss = sum(g.lost for g in gaps) * I_ms / len(gaps)
            entry.update(timestamp_ms=round(ts, 4), loss_ms=round(loss, 4),
                         timestamp_err_ms=round(ts - inj_ms, 4), loss_err_ms=round(loss - inj_ms, 4),
                         flow_timestamp_err_ms=[round(g.duration_ms - inj_ms, 4) for g in gaps],
                         flow_lost=[g.lost for g in gaps])
        row["directions"][name] = entry
    return row


def summarize(rows: Sequence[dict[str, Any]], tolerance_ms: float = TOLERANCE_MS,
              min_outage_ms: float = 20.0) -> dict[str, Any]:
    """Per nominal outage: injected, errors by method (mean, min, max, max |err|), bounds,
    and whether every repetition met ``tolerance_ms``."""
    out: dict[str, Any] = {}
    for nominal in sorted({r["nominal_ms"] for r in rows}):
        rs = [r for r in rows if r["nominal_ms"] == nominal]
        s: dict[str, Any] = {"repeats": len(rs),
                             "injected_ms": {"mean": round(sum(r["injected_ms"] for r in rs) / len(rs), 4),
                                             "min": min(r["injected_ms"] for r in rs),
                                             "max": max(r["injected_ms"] for r in rs)},
                             "bracket_ms": round(max(r["bracket_ms"][1] - r["bracket_ms"][0] for r in rs), 4)}
        ok = True
        for method in ("timestamp", "loss"):
            seen = [(d[f"{method}_err_ms"], d["bounds_ms"][method]) for r in rs for d in r["directions"].values()]
            measured = [(e, b) for e, b in seen if e is not None]
            errs = [e for e, _ in measured]
            bounds = [b for _, b in seen]
            m = {"n": len(errs), "missing": len(seen) - len(measured)}
            missing = m["missing"]
            if errs:
                m.update(mean=round(sum(errs) / len(errs), 4), min=min(errs), max=max(errs),
                         max_abs=max(abs(e) for e in errs),
                         bound=[min(b[0] for b in bounds), max(b[1] for b in bounds)],
                         within_bound=all(b[0] - 1e-9 <= e <= b[1] + 1e-9 for e, b in measured))
            m["ok"] = (missing == 0 and bool(errs) and m["max_abs"] <= tolerance_ms) if nominal >= min_outage_ms else None
            if m["ok"] is False:
                ok = False
            s[method] = m
        s["ok"] = ok
        out[f"{nominal:g}"] = s
    return out


def jitter(metas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Send-timing lateness of each probe (from its sidecar)."""
    return {n: {k: m.get("lateness_us", {}).get(k) for k in
                ("count", "p50_us", "p99_us", "p999_us", "max_us", "mean_us", "over_1ms")}
            for n, m in metas.items()}


# --- the run ---------------------------------------------------------------------------------------
def calibrate(outages_ms: Iterable[float] = DEFAULT_OUTAGES_MS, repeats: int = 5, *,
              rate_pps: float = 1000.0, flows: int = 4, spacing_ms: float = 300.0,
              warmup_s: float = 1.0, tail_s: float = 0.6, tolerance_ms: float = TOLERANCE_MS,
              run: str | None = None, workdir: str | Path | None = None, keep_files: bool = False,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Inject each outage ``repeats`` times (interleaved) and measure it both ways.

    Returns ``{"ok", "ok_by_method", "tolerance_ms", "params", "summary", "rows", "jitter",
    "inject_cost_us", "restore_cost_us"}`` (``ok``: every outage within ``tolerance_ms`` by
    both methods): ``summary[str(nominal_ms)]`` has per method (``timestamp``, ``loss``) the
    errors in ms (mean/min/max/max_abs over repeats and both directions) and the theoretical
    bound; ``rows`` every injection.  ``run``: the run name (default ``cal<pid>``).  Needs root;
    leaving (an error, Ctrl-C) tears the network down.
    """
    outages = [float(o) for o in outages_ms]
    if not outages or repeats < 1:
        raise ValueError("need at least one outage and one repetition")
    say = progress or (lambda _msg: None)
    order = [o for _ in range(repeats) for o in outages]
    topo = catalog.build(TOPOLOGY)
    a, b = topo.endpoints
    (link,) = topo.links
    fault = Blackhole(link.label)
    fault.check(topo)
    tmp_owner = None
    if workdir is None:
        tmp_owner = tempfile.TemporaryDirectory(prefix="testbed-cal-")
        wd = Path(tmp_owner.name)
    else:
        wd = Path(workdir)
        wd.mkdir(parents=True, exist_ok=True)
    windows: list[dict[str, Any]] = []
    try:
        with Network(topo, run=run or f"cal{os.getpid() % 10000}") as net, fault.armed(net):
            converge.wait_converged(net)
            inject_cost, restore_cost = transaction_costs_ns(net, fault)
            say(f"{topo.name} up; {fault.describe()}: inject {inject_cost / 1000:.0f} us, "
                f"restore {restore_cost / 1000:.0f} us; starting probes")
            with probepair.probes(net, topo.endpoints, wd, flowplan.default_ports(flows), rate_pps) as files:
                time.sleep(warmup_s)
                for i, width in enumerate(order, 1):
                    w = pulse(net, fault, int(width * MS))
                    w["nominal_ms"] = width
                    windows.append(w)
                    say(f"[{i}/{len(order)}] injected {width:g} ms -> {w['window_ns'] / MS:.3f} ms")
                    time.sleep(spacing_ms / 1000)
                time.sleep(tail_s)
        metas = {n: load_meta(str(files[n]) + ".json") for n in (a, b)}
        for n, m in metas.items():
            if m.get("status") != "done":
                keep_files = True  # the evidence stays for the user to read
                raise TestbedError(f"the probe in {n} did not finish (status {m.get('status')!r}): "
                                   f"see its .err file in {wd}.")
        res = analyze_files(str(files[a]), str(files[b]), (a, b))
    finally:
        if tmp_owner is not None and not keep_files:
            tmp_owner.cleanup()
    late = {f"{a}->{b}": (metas[a].get("lateness_us", {}).get("max_us") or 0) / 1000,
            f"{b}->{a}": (metas[b].get("lateness_us", {}).get("max_us") or 0) / 1000}
    rows = [measure_row(res, w, w["nominal_ms"], late) for w in windows]
    summary = summarize(rows, tolerance_ms)
    ok_by = {m: all(s[m]["ok"] is not False for s in summary.values()) for m in ("timestamp", "loss")}
    ok = all(s["ok"] for s in summary.values())
    return {
        "ok": ok,
        "ok_by_method": ok_by,
        "tolerance_ms": tolerance_ms,
        "params": {"outages_ms": outages, "repeats": repeats, "rate_pps": rate_pps, "flows": flows,
                   "interval_ms": 1000.0 / rate_pps, "spacing_ms": spacing_ms,
                   "topology": topo.name, "fault": fault.describe(),
                   "workdir": str(wd) if (workdir is not None or keep_files) else None},
        "inject_cost_us": inject_cost // 1000,
        "restore_cost_us": restore_cost // 1000,
        "summary": summary,
        "jitter": jitter(metas),
        "rows": rows,
    }


# --- presentation ----------------------------------------------------------------------------------
def render(result: dict[str, Any], console: Any = None) -> None:
    """The calibration as rich tables."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    con = console or Console()
    p = result["params"]
    t = Table(title=f"Outage calibration: {p['repeats']} x each, {p['flows']} flows x {p['rate_pps']:g} pps "
                    f"each way (interval {p['interval_ms']:g} ms), tolerance ±{result['tolerance_ms']:g} ms",
              box=box.SIMPLE_HEAD, caption="err = measured - injected (ms), both directions; "
              "timestamp = RFC 6414 (first good after - last good before), loss = RFC 6412 (lost / load); "
              "bound = pacing interval + fault bracket + worst send lateness")
    for col in ("outage", "injected (min-max)", "bracket", "timestamp err\nmean / max|err|", "bound",
                "loss err\nmean / max|err|", "bound", "result"):
        t.add_column(col, justify="right")
    for nominal, s in result["summary"].items():
        cells = [f"{float(nominal):g} ms",
                 f"{s['injected_ms']['min']:.3f}-{s['injected_ms']['max']:.3f}",
                 f"{s['bracket_ms']:.3f}"]
        for m in ("timestamp", "loss"):
            x = s[m]
            if x.get("n"):
                cells += [f"{x['mean']:+.3f} / {x['max_abs']:.3f}", f"{x['bound'][0]:+.2f}..{x['bound'][1]:+.2f}"]
            else:
                cells += ["-", "-"]
            if x.get("missing"):
                cells[-2] += f" ({x['missing']} missing)"
        cells.append("[green]pass[/]" if s["ok"] else ("[red]FAIL[/]" if s["ok"] is False else "-"))
        t.add_row(*cells)
    con.print(t)
    j = Table(title="Probe send timing (lateness against the schedule)", box=box.SIMPLE_HEAD)
    for col in ("probe", "packets", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "> 1 ms"):
        j.add_column(col, justify="right")
    for n, s in result["jitter"].items():
        j.add_row(n, *(str(s.get(k)) for k in ("count", "p50_us", "p99_us", "p999_us", "max_us", "over_1ms")))
    con.print(j)
    tol = result["tolerance_ms"]
    if result["ok"]:
        con.print(f"[green]calibration passed[/]: every outage measured within ±{tol:g} ms by both methods")
    else:
        by = result.get("ok_by_method", {})
        con.print(f"[red]calibration FAILED[/]: not every outage within ±{tol:g} ms ("
                  + ", ".join(f"{m}: {'pass' if v else 'FAIL'}" for m, v in by.items()) + "). "
                  "The timestamp method is an upper bound, in [W, W + 2 x interval) plus send lateness "
                  "(see the probe send timing).")
