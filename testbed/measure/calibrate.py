"""Calibration of the measurement chain: inject outages of known length, measure them.

Two bare Mininet namespaces (``cal<id>a`` and ``cal<id>b``, one veth) run a probe each
(``python -m testbed.measure.probe``, both directions at once).  :class:`NftInjector` -- a small
Python process inside ``a`` calling libnftables in-process -- drops everything on the only
path (nftables ``inet`` table ``tbcal``, input and output chains at priority -300, rules on
``a``'s interface) for a chosen time, and stamps CLOCK_MONOTONIC immediately before and after
each transaction: the instant a rule took effect is bracketed to a fraction of a millisecond
(an ``nft`` command through a shell is bracketed only to its fork/exec/parse time, several
ms).  The injected window is ``return(delete) - return(add)`` (the kernel commits at the end
of the library call); the issue stamps give the worst-case bracket.

For every injection and direction the probe records give:

* **timestamp method** (RFC 6414, what the testbed reports as ``outage_ms``): the longest
  flow gap, first good packet after minus last good packet before.  For a window W and
  packet interval I it lies in ``[W, W + 2I)``.
* **loss-derived** (RFC 6412): packets lost / offered load over all flows; in
  ``(W - I, W + I)``.

Each bound widens by the injector's bracket.  The acceptance rule is
``|measured - injected| <= 2 ms`` for every outage of 20 ms or more, for both methods.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from testbed.system.procs import stop_process

MS = 1_000_000
CLOCK = time.CLOCK_MONOTONIC
DEFAULT_OUTAGES_MS = (20, 100, 500, 2000)
TOLERANCE_MS = 2.0
TABLE = "tbcal"

INJECTOR_SRC = r"""
import ctypes, sys, time
lib = ctypes.CDLL("libnftables.so.1")
lib.nft_ctx_new.restype = ctypes.c_void_p
lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
ctx = lib.nft_ctx_new(0)
lib.nft_ctx_buffer_output(ctx)
lib.nft_ctx_buffer_error(ctx)
clock = time.clock_gettime_ns
M = time.CLOCK_MONOTONIC
print("READY", flush=True)
for line in sys.stdin:
    cmd = line.strip().encode()
    if not cmd:
        break
    t1 = clock(M)
    rc = lib.nft_run_cmd_from_buffer(ctx, cmd)
    t2 = clock(M)
    err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode().replace("\n", " | ") if rc else ""
    print(rc, t1, t2, err, flush=True)
lib.nft_ctx_free(ctx)
"""


# --- processes -------------------------------------------------------------------------------
def readline(proc: subprocess.Popen, timeout: float = 10.0) -> str:
    """One line of a child's stdout, or TimeoutError/RuntimeError."""
    r, _, _ = select.select([proc.stdout], [], [], timeout)
    if not r:
        raise TimeoutError(f"no output from pid {proc.pid} within {timeout:.0f} s")
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"pid {proc.pid} exited: {err.decode(errors='replace') if isinstance(err, bytes) else err}")
    return line.decode().strip() if isinstance(line, bytes) else line.strip()


def _popen_in(node: Any, argv: list[str], **kw) -> subprocess.Popen:
    """``node``: a mininet Node (``.popen``) or a node shell pid (entered with mnexec)."""
    if hasattr(node, "popen"):
        return node.popen(argv, **kw)
    return subprocess.Popen(["mnexec", "-a", str(int(node)), *argv], **kw)


class NftInjector:
    """libnftables in a process inside a node; :meth:`run` returns ``(issue_ns, return_ns)``.

    ``node`` is a mininet Node or the pid of a node's shell.  Commands are nft script text
    (several separated by ``;`` run as one transaction).
    """

    def __init__(self, node: Any, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.proc = _popen_in(node, [sys.executable, "-c", INJECTOR_SRC], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = readline(self.proc, timeout)
            if line != "READY":
                raise RuntimeError(f"nft injector said {line!r}")
        except BaseException:
            stop_process(self.proc)
            raise

    def run(self, cmd: str) -> tuple[int, int]:
        self.proc.stdin.write(cmd.encode() + b"\n")
        self.proc.stdin.flush()
        rc, t1, t2, *err = readline(self.proc, self.timeout).split(" ", 3)
        if rc != "0":
            raise RuntimeError(f"nft failed ({cmd}): {err}")
        return int(t1), int(t2)

    def close(self) -> None:
        stop_process(self.proc)

    def __enter__(self) -> "NftInjector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the blackhole used by calibration and by silent-failure faults ---
    def setup_table(self, table: str = TABLE) -> None:
        """An ``inet`` table with input/output chains ahead of everything (priority -300)."""
        self.run(f"add table inet {table}; "
                 f"add chain inet {table} in {{ type filter hook input priority -300; policy accept; }}; "
                 f"add chain inet {table} out {{ type filter hook output priority -300; policy accept; }}")

    def drop(self, ifname: str, table: str = TABLE) -> tuple[int, int]:
        """Drop everything received on and sent to ``ifname`` (carrier stays up)."""
        return self.run(f'add rule inet {table} in iifname "{ifname}" drop; '
                        f'add rule inet {table} out oifname "{ifname}" drop')

    def undrop(self, table: str = TABLE) -> tuple[int, int]:
        return self.run(f"flush chain inet {table} in; flush chain inet {table} out")

    def delete_table(self, table: str = TABLE) -> tuple[int, int]:
        return self.run(f"delete table inet {table}")

    def undrop_cost_ns(self, table: str = TABLE, n: int = 5) -> int:
        """Median duration of the flush transaction (to aim its commit)."""
        costs = []
        for _ in range(n):
            self.run(f'add rule inet {table} in iifname "tbcal-none" drop')
            d1, d2 = self.undrop(table)
            costs.append(d2 - d1)
        return sorted(costs)[len(costs) // 2]

    def pulse(self, ifname: str, width_ns: int, undrop_cost_ns: int = 0, table: str = TABLE) -> dict[str, int]:
        """Drop on ``ifname`` for ``width_ns``; returns the stamps and the injected window."""
        a1, a2 = self.drop(ifname, table)
        target = a2 + width_ns - undrop_cost_ns  # aim the flush's return (its commit) at a2 + width
        sleep_until(target)
        d1, d2 = self.undrop(table)
        return window(a1, a2, d1, d2)


def sleep_until(t_ns: int) -> None:
    while True:
        left = t_ns - time.clock_gettime_ns(CLOCK)
        if left <= 0:
            return
        time.sleep(left / 1e9 if left > 2 * MS else left / 2e9)


def window(a1: int, a2: int, d1: int, d2: int) -> dict[str, int]:
    """Injected window from the injector's stamps: estimate and worst-case bracket."""
    return {"add_issue_ns": a1, "add_return_ns": a2, "del_issue_ns": d1, "del_return_ns": d2,
            "window_ns": d2 - a2, "window_min_ns": d1 - a2, "window_max_ns": d2 - a1}


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
    injector's bracket and the sender's worst send lateness L (a stalled sender moves the
    packets around the edges of the window):  timestamp in [-del, 2I + add + 2L],
    loss-derived in [-I - del - L, I + add + L]  (add/del: the two transactions' durations)."""
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
            errs = [d[f"{method}_err_ms"] for r in rs for d in r["directions"].values()]
            missing = sum(e is None for e in errs)
            errs = [e for e in errs if e is not None]
            bounds = [d["bounds_ms"][method] for r in rs for d in r["directions"].values()]
            m = {"n": len(errs), "missing": missing}
            if errs:
                m.update(mean=round(sum(errs) / len(errs), 4), min=min(errs), max=max(errs),
                         max_abs=max(abs(e) for e in errs),
                         bound=[min(b[0] for b in bounds), max(b[1] for b in bounds)],
                         within_bound=all(b[0] - 1e-9 <= e <= b[1] + 1e-9 for e, b in zip(
                             [d[f"{method}_err_ms"] for r in rs for d in r["directions"].values()], bounds)
                             if e is not None))
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
def _names() -> tuple[str, str]:
    tag = os.getpid() % 100000
    return f"cal{tag}a", f"cal{tag}b"


def calibrate(outages_ms: Iterable[float] = DEFAULT_OUTAGES_MS, repeats: int = 5, *,
              rate_pps: float = 1000.0, flows: int = 4, spacing_ms: float = 300.0,
              warmup_s: float = 1.0, tail_s: float = 0.6, tolerance_ms: float = TOLERANCE_MS,
              rt_priority: int | None = None,
              workdir: str | Path | None = None, keep_files: bool = False,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Inject each outage ``repeats`` times (interleaved) and measure it both ways.

    Returns ``{"ok", "ok_by_method", "tolerance_ms", "params", "summary", "rows", "jitter",
    "undrop_cost_us"}`` (``ok``: every outage within ``tolerance_ms`` by both methods):
    ``summary[str(nominal_ms)]`` has per method (``timestamp``, ``loss``) the errors in ms
    (mean/min/max/max_abs over repeats and both directions) and the theoretical bound;
    ``rows`` every injection.  Needs root.
    """
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.node import Node

    from testbed.measure.outage import analyze_files, load_meta

    outages = [float(o) for o in outages_ms]
    if not outages or repeats < 1:
        raise ValueError("need at least one outage and one repetition")
    say = progress or (lambda _msg: None)
    order = [o for _ in range(repeats) for o in outages]
    na, nb = _names()
    addr = {na: "10.199.1.1", nb: "10.199.1.2"}
    tmp_owner = None
    if workdir is None:
        tmp_owner = tempfile.TemporaryDirectory(prefix="testbed-cal-")
        wd = Path(tmp_owner.name)
    else:
        wd = Path(workdir)
        wd.mkdir(parents=True, exist_ok=True)
    setLogLevel("error")
    net = Mininet(topo=None, controller=None, build=False)
    procs: list[subprocess.Popen] = []
    inj: NftInjector | None = None
    windows: list[dict[str, Any]] = []
    try:
        a = net.addHost(na, cls=Node, ip=None)
        b = net.addHost(nb, cls=Node, ip=None)
        net.addLink(a, b)
        for n in (a, b):
            n.cmd(f"ip link set lo up; ip addr add {addr[n.name]}/30 dev {n.name}-eth0; ip link set {n.name}-eth0 up")
        if " 0% packet loss" not in a.cmd(f"ping -c1 -W2 {addr[nb]}"):
            raise RuntimeError("calibration namespaces cannot reach each other")
        ifname = f"{na}-eth0"
        inj = NftInjector(a)
        procs.append(inj.proc)
        inj.setup_table()
        undrop_cost = inj.undrop_cost_ns()
        say(f"injector ready (flush transaction {undrop_cost / 1000:.0f} us); starting probes")
        started = []
        for me, peer in ((a, b), (b, a)):
            with open(wd / f"{me.name}.err", "wb") as err:
                rt = ["chrt", "-f", str(rt_priority)] if rt_priority else []
                p = me.popen([*rt, sys.executable, "-m", "testbed.measure.probe", "--peer", addr[peer.name],
                              "--out", str(wd / f"{me.name}.bin"), "--rate", str(rate_pps),
                              "--flows", str(flows), "--duration", "0", "--start-delay", "0.3"],
                             stdout=subprocess.PIPE, stderr=err)
            procs.append(p)
            started.append(p)
        for p in started:
            line = readline(p, 15.0)
            if not line.startswith("READY"):
                raise RuntimeError(f"probe said {line!r}")
        time.sleep(0.3 + warmup_s)  # the probes send from READY + 0.3 s (start-up settled)
        for i, width in enumerate(order, 1):
            w = inj.pulse(ifname, int(width * MS), undrop_cost)
            w["nominal_ms"] = width
            windows.append(w)
            say(f"[{i}/{len(order)}] injected {width:g} ms -> {w['window_ns'] / MS:.3f} ms")
            time.sleep(spacing_ms / 1000)
        time.sleep(tail_s)
        for p in started:
            os.kill(p.pid, signal.SIGTERM)
        for p in started:
            if p.wait(timeout=15) != 0:
                raise RuntimeError(f"probe pid {p.pid} exited with {p.returncode}: see {wd}")
        inj.delete_table()
    finally:
        if inj is not None:
            inj.close()
        for p in procs:
            stop_process(p)
        net.stop()

    try:
        res = analyze_files(str(wd / f"{na}.bin"), str(wd / f"{nb}.bin"), (na, nb))
        metas = {n: load_meta(str(wd / f"{n}.bin.json")) for n in (na, nb)}
    finally:
        if tmp_owner is not None and not keep_files:
            tmp_owner.cleanup()
    late = {f"{na}->{nb}": (metas[na].get("lateness_us", {}).get("max_us") or 0) / 1000,
            f"{nb}->{na}": (metas[nb].get("lateness_us", {}).get("max_us") or 0) / 1000}
    rows = [measure_row(res, w, w["nominal_ms"], late) for w in windows]
    summary = summarize(rows, tolerance_ms)
    ok_by = {m: all(s[m]["ok"] is not False for s in summary.values()) for m in ("timestamp", "loss")}
    ok = all(s["ok"] for s in summary.values())
    # direction names carry the per-process node names: report them as a->b / b->a
    rename = {f"{na}->{nb}": "a->b", f"{nb}->{na}": "b->a"}
    for r in rows:
        r["directions"] = {rename.get(k, k): v for k, v in r["directions"].items()}
    return {
        "ok": ok,
        "ok_by_method": ok_by,
        "tolerance_ms": tolerance_ms,
        "params": {"outages_ms": outages, "repeats": repeats, "rate_pps": rate_pps, "flows": flows,
                   "interval_ms": 1000.0 / rate_pps, "spacing_ms": spacing_ms,
                   "workdir": str(wd) if (workdir is not None or keep_files) else None},
        "undrop_cost_us": undrop_cost // 1000,
        "summary": summary,
        "jitter": jitter({"a": metas[na], "b": metas[nb]}),
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
              "bound = pacing interval + injector bracket + worst send lateness")
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
