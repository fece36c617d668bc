"""Run scenarios: each topology up once (scenarios of one network and parameters share it), a
flow plan (the probe ports, chosen so every equal-cost path carries flows both ways:
``testbed.measure.flowplan``), then N trials, each written the moment it ends.

One trial (RFC 6413: the run outlasts convergence plus a validation time)::

    settle    the network is at its baseline: every BGP and BFD session up, every expected
              prefix in each FIB with the same next hops as right after bring-up
    measure   FIB/BGP/BFD watchers (when installed), pcaps on request, then the probe pair
              (both directions, F flows at R packets/s) until every flow has delivered
              ``min_traffic_s`` of traffic both ways (at most ``lead_s``)...
    inject    ...the fault, stamped
    converge  the FIB changes and then holds still for ``still_s`` with traffic delivered on
              every flow since the change (at most ``stable_s``; or it returns to the baseline,
              or the fault is held, as the fault's ``settle`` says), within the scenario's
              deadline; then traffic on the new paths (``min_traffic_s``, at most ``validate_s``)
    restore   the fault undone, stamped; wait for the baseline again, then traffic on the
              paths of the baseline (``min_traffic_s``, at most ``validate_s``)
    analyse   outage per flow and direction for the fault and for the failback, paths per
              flow before/during/after, control-plane timings, the scenario's verdict

Every window ends as soon as its condition holds (the probes' records are read live), with the
``Options`` figures as upper bounds; timelines are drawn once the trials are done. The network
is polled over netlink (cheap: about 1.5 ms per node) every ``poll_s``; BGP and BFD sessions
through vtysh only when the FIBs are back at the baseline.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import platform
import shutil
import subprocess
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from testbed.errors import TestbedError
from testbed.faults import Fault
from testbed.measure import flowplan, pathmark, probepair
from testbed.measure.outage import analyze_files
from testbed.measure.probe import DEFAULT_FLOWS, DEFAULT_RATE
from testbed.measure.records import load_meta, load_records
from testbed.model import catalog
from testbed.model.events import Event, now_ns
from testbed.observe import converge, fib
from testbed.results import plots
from testbed.results.store import RunWriter, load_summary
from testbed.results.trial import Trial, direction_figures, timings
from testbed.runtime.net import Network
from testbed.system.poll import poll
from testbed.system.procs import stop_process
from testbed.trials.scenario import Scenario, Verdict, all_of, back_to_baseline

Snapshot = dict[tuple[str, str], tuple[tuple[str, str], ...]]


@dataclass
class Options:
    trials: int | None = None                 # default: the scenario's
    overrides: dict[str, Any] = field(default_factory=dict)
    out: Path = Path("results")
    pcap: bool = False                        # keep pcaps and probe records of every trial
    flows: int = DEFAULT_FLOWS
    rate: float = DEFAULT_RATE
    # the windows end when their condition holds; these are their upper bounds (the module's doc)
    lead_s: float = 1.0
    validate_s: float = 1.0
    stable_s: float = 1.0
    min_traffic_s: float = 0.2                # each window: this much traffic on every flow, both ways
    still_s: float = 0.3                      # the FIBs unchanged this long before a settle is believed
    baseline_timeout_s: float = 60.0
    poll_s: float = 0.1
    progress: bool = True
    run_name: str = field(default_factory=lambda: f"scen{os.getpid() % 100000}")
    network: str | None = None                # a network file (or name) instead of the scenario's own
    resume: Path | None = None                # a run directory to go on with (``RunWriter.reopen``)


@dataclass
class RunOutcome:
    dir: Path
    summary: dict[str, Any]
    trials: list[Trial]
    notes: list[str]


# --- the network's state ---------------------------------------------------------------------
def fib_snapshot(net: Network) -> Snapshot:
    """Next hops (gateway, interface) of every expected prefix in every expected node."""
    tables = fib.tables(net, (e.node for e in net.topo.fib))
    return {(e.node, e.prefix): tuple(sorted((h["gateway"] or "", h["ifname"] or "")
                                             for h in fib.nexthops(tables[e.node], e.prefix)))
            for e in net.topo.fib}


def snapshot_changes(before: Snapshot, after: Snapshot, t_ns: int) -> list[Event]:
    return [Event(t_ns, "poll", node, "fib-change", {"prefix": prefix, "via": [h[1] for h in hops]})
            for (node, prefix), hops in after.items() if before.get((node, prefix)) != hops]


def sessions_wrong(net: Network) -> list[str]:
    return converge.bgp_sessions(net) + converge.bfd_peers(net)


def wait_baseline(net: Network, reference: Snapshot, timeout_s: float, poll_s: float,
                  events: list[Event]) -> tuple[bool, list[str]]:
    """Poll until every FIB matches ``reference`` and every session is up; the FIB changes
    seen meanwhile go to ``events``."""
    last = [fib_snapshot(net)]

    def at_baseline() -> list[str]:
        snap = fib_snapshot(net)
        events.extend(snapshot_changes(last[0], snap, now_ns()))
        last[0] = snap
        if snap != reference:
            return [f"{n}: {p} via {', '.join(h[1] for h in hops) or 'nothing'}"
                    for (n, p), hops in snap.items() if reference.get((n, p)) != hops]
        return sessions_wrong(net)

    out = poll(at_baseline, timeout_s, poll_s)
    return out.ok, out.problems


def wait_settled(net: Network, fault: Fault, reference: Snapshot, deadline_s: float,
                 opts: Options, events: list[Event], delivery: probepair.Delivery) -> int | None:
    """After the fault: the instant (ns) the network settled, or None past the deadline."""
    if fault.settle == "hold":
        time.sleep(fault.hold_s)
        return now_ns()
    if fault.settle == "baseline":
        ok, _ = wait_baseline(net, reference, deadline_s, opts.poll_s, events)
        return now_ns() if ok else None
    seen: dict[str, Any] = {"last": reference, "changed_at": None}

    def changed_and_still() -> list[str]:
        snap, t = fib_snapshot(net), now_ns()
        if snap != seen["last"]:
            events.extend(snapshot_changes(seen["last"], snap, t))
            seen.update(last=snap, changed_at=t)
        if seen["changed_at"] is None:
            return ["no FIB has changed yet"]
        still_ns = t - seen["changed_at"]
        if still_ns >= opts.stable_s * 1e9:
            return []
        if still_ns < opts.still_s * 1e9:
            return [f"the FIBs changed less than {opts.still_s:g} s ago"]
        return delivery.missing_since(seen["changed_at"])  # still, and the traffic found its paths

    return seen["changed_at"] if poll(changed_and_still, deadline_s, opts.poll_s).ok else None


#: how often a window that waits for traffic reads the probes' records
TRAFFIC_POLL_S = 0.02


def traffic_window(delivery: probepair.Delivery, since_ns: int, opts: Options, longest_s: float) -> int:
    """Wait until every flow has delivered, both ways, a packet sent ``min_traffic_s`` after
    ``since_ns`` or more (at most ``longest_s`` after ``since_ns``); the instant it ended."""
    after = since_ns + int(opts.min_traffic_s * 1e9)
    left_s = max(0.0, longest_s - (now_ns() - since_ns) / 1e9)
    poll(lambda: delivery.missing_since(after), left_s, TRAFFIC_POLL_S)
    return now_ns()


# --- measuring -------------------------------------------------------------------------------
@contextmanager
def pcaps(net: Network, fault: Fault, workdir: Path, within_s: float = 3.0) -> Iterator[None]:
    """tcpdump on both ends of each link the fault touches, each checked to be capturing before
    the trial goes on (they may exit later, when a link goes down); its stderr in NAME.tcpdump.log."""
    procs: list[tuple[Path, subprocess.Popen]] = []
    try:
        for label in fault.links():
            link = net.topo.link_by_label(label)
            for end in (link.a, link.b):
                log = workdir / f"{end.node}-{end.name}.tcpdump.log"
                with log.open("w") as err:
                    procs.append((log, net.nodes[end.node].popen(
                        ["tcpdump", "-i", end.name, "-w", str(log.with_suffix("").with_suffix(".pcap")),
                         "-Z", "root", "-s", "160", "-U", "-n"], stdout=subprocess.DEVNULL, stderr=err)))

        def waiting() -> list[tuple[Path, subprocess.Popen]]:  # tcpdump says "listening on" once capturing
            return [(log, p) for log, p in procs if "listening on" not in log.read_text()]
        if not poll(lambda: [log.name for log, _ in waiting()], within_s, 0.05).ok:
            log, p = waiting()[0]
            said = " ".join(log.read_text().split())[:200] or "nothing"
            how = f"exited with code {p.returncode}" if p.poll() is not None else f"did not start within {within_s:g} s"
            raise TestbedError(f"--pcap: tcpdump on {log.name.removesuffix('.tcpdump.log')} {how}, saying {said!r}: "
                               "check that tcpdump works on this host, or run without --pcap.")
        yield
    finally:
        for _, p in procs:
            stop_process(p)


WATCHERS = (("testbed.measure.fibwatch", "FibWatcher"), ("testbed.measure.ctlcap", "ControlCapture"))
logging.getLogger("scapy").setLevel(logging.ERROR)  # scapy (ctlcap's decoder) warns on import


def _watcher_options(cls: str, workdir: Path) -> dict[str, Any]:
    """ControlCapture keeps its pcaps with the trial (kept with --pcap) and leaves FRR's logging
    alone: the rendered configs log what it reads from the start, and turning logging on
    through vtysh would make bgpd re-run its route-maps and send ROUTE-REFRESH mid-trial."""
    return {"out_dir": workdir, "frr_logging": False} if cls == "ControlCapture" else {}


@contextmanager
def watchers(net: Network, notes: list[str], workdir: Path) -> Iterator[list[Event]]:
    """The FIB and BGP/BFD watchers that are installed; their events land in the yielded list
    when the block ends. The runner works without them (then no detection/FIB timings)."""
    running, out = [], []
    for module, cls in WATCHERS:
        try:
            kind = getattr(importlib.import_module(module), cls)
            watcher = kind(net, list(net.topo.routers), **_watcher_options(cls, workdir))
            watcher.start()
            running.append(watcher)
        except ImportError:
            _note(notes, f"{module} is not installed: no {cls} events in the timelines")
        except Exception as e:  # a watcher must never cost us the measurement
            _note(notes, f"{module}.{cls} failed to start ({e!r}): its events are missing")
    try:
        yield out
    finally:
        for w in running:
            try:
                out += w.stop()
            except Exception as e:
                _note(notes, f"{type(w).__name__} failed ({e!r}): its events are missing")


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


class _NoteHandler(logging.Handler):
    """Warnings of the testbed's modules (a watcher that lost packets, ...) become notes of the
    run, kept in summary.json, instead of lines torn through the progress bar."""

    def __init__(self, notes: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.notes = notes

    def emit(self, record: logging.LogRecord) -> None:
        _note(self.notes, f"{record.name}: {record.getMessage()}")


PREFIXES_KEPT = 8  # per BGP update in a trial's events; the count says how many there were


def relevant(events: list[Event], prefixes: set[str]) -> list[Event]:
    """Drop FIB events of prefixes nobody measures and shorten the prefix lists of BGP
    messages to the measured prefixes and a few more (a prefix flood makes thousands)."""
    out = []
    for e in events:
        if e.source == "fib" and not (e.kind.startswith("link-") or e.kind == "enobufs"
                                      or (e.kind.startswith("route-") and e.detail.get("prefix") in prefixes)):
            continue
        sent = e.detail.get("prefixes") if e.source == "bgp" else None
        if sent and len(sent) > PREFIXES_KEPT:
            kept = [p for p in sent if p in prefixes]
            kept += [p for p in sent if p not in prefixes][:max(0, PREFIXES_KEPT - len(kept))]
            e = Event(e.t_ns, e.source, e.node, e.kind, {**e.detail, "prefixes": kept, "prefix_count": len(sent)})
        out.append(e)
    return out


# --- one trial -------------------------------------------------------------------------------
@dataclass
class Context:
    net: Network
    scenario: Scenario
    opts: Options
    reference: Snapshot
    points: list[pathmark.MarkPoint]
    ports: list[int]
    writer: RunWriter
    notes: list[str]


def run_trial(ctx: Context, index: int) -> Trial:
    net, sc, opts = ctx.net, ctx.scenario, ctx.opts
    params = net.topo.params
    trial = Trial(sc.name, index, datetime.now(timezone.utc).isoformat(timespec="seconds"))
    workdir = ctx.writer.trial_path(index, "")
    workdir.mkdir()
    events: list[Event] = []
    ok, wrong = wait_baseline(net, ctx.reference, opts.baseline_timeout_s, opts.poll_s, [])
    if not ok:
        raise TestbedError(f"the network is not at its baseline before trial {index} ({'; '.join(wrong[:3])}).")
    fault = sc.fault(net.topo)
    load_before = os.getloadavg()
    inj = rst = None
    settled = restored_at = None
    with ExitStack() as stack:
        seen = stack.enter_context(watchers(net, ctx.notes, workdir))
        stack.enter_context(fault.armed(net))
        if opts.pcap:
            stack.enter_context(pcaps(net, fault, workdir))
        files = stack.enter_context(probepair.probes(net, net.topo.endpoints, workdir, ctx.ports, opts.rate))
        delivery = probepair.Delivery(net.topo.endpoints, files, len(ctx.ports))
        traffic_window(delivery, now_ns(), opts, opts.lead_s)
        try:
            inj = fault.inject(net)
            settled = wait_settled(net, fault, ctx.reference, sc.deadline_s(params), opts, events, delivery)
            during_from = now_ns()
            traffic_window(delivery, during_from, opts, opts.validate_s)
        finally:
            if inj is not None:
                rst = fault.restore(net)
        trial.restored, wrong = wait_baseline(net, ctx.reference, opts.baseline_timeout_s, opts.poll_s, events)
        restored_at = now_ns()
        stop_ns = traffic_window(delivery, restored_at, opts, opts.validate_s)
    events += [inj, rst, *fault.steps, *relevant(seen, {e.prefix for e in net.topo.fib})]
    trial.events = sorted(events, key=lambda e: e.t_ns)
    # a trial's time zero is the instant the fault was issued: a slow one (4,000 prefixes
    # through vtysh) takes effect while it is still being applied
    trial.inject_ns, trial.restore_ns = inj.detail["issued_ns"], rst.detail["issued_ns"]
    trial.settled_ms = trial.rel_ms(settled) if settled else None
    trial.restored_ms = round((restored_at - trial.restore_ns) / 1e6, 3) if trial.restored else None
    analyse(trial, ctx, files, inj, rst, (during_from, restored_at, stop_ns))
    trial.probe["load"] = {"before": load_before, "after": os.getloadavg()}
    verdicts = [sc.expect(net.topo, trial), back_to_baseline(trial)]
    if settled is None:
        verdicts.append(Verdict(False, f"the network did not settle within {sc.deadline_s(params):g} s"))
    if not trial.restored:
        trial.error = "not back at baseline after restore: " + "; ".join(wrong[:3])
    v = all_of(*verdicts)
    trial.ok, trial.reason = v.ok, v.reason
    if not opts.pcap:
        shutil.rmtree(workdir, ignore_errors=True)
    return trial


def analyse(trial: Trial, ctx: Context, files: dict[str, Path], inj: Event, rst: Event,
            marks: tuple[int, int, int]) -> None:
    """Outage per phase, flow and direction; paths (before the fault, in the window from
    settled to restore, in the one from back at baseline to the end: ``marks``); the traffic
    series; control-plane timings."""
    during_from, after_from, stop_ns = marks
    a, b = ctx.net.topo.endpoints
    inject_cut, restore_cut = inj.detail["issued_ns"], rst.detail["issued_ns"]
    run = analyze_files(str(files[a]), str(files[b]), names=(a, b))
    receiver = {f"{a}->{b}": files[b], f"{b}->{a}": files[a]}
    meta = {n: load_meta(str(f) + ".json") for n, f in files.items()}
    t0 = min(m["schedule"]["t0_ns"] for m in meta.values())
    windows = {"before": (t0, inject_cut), "during": (during_from, restore_cut), "after": (after_from, stop_ns)}
    names = pathmark.names(ctx.points)
    series: dict[str, Any] = {}
    for direction, d in run.directions.items():
        recs = load_records(str(receiver[direction]))
        paths = pathmark.flow_paths(recs, names, windows)
        trial.directions[direction] = direction_figures(d, inject_cut, restore_cut, paths)
        series[direction] = pathmark.traffic(recs, names, t0, stop_ns)
    trial.traffic = {"origin_ns": t0, "bucket_ms": 10.0, "directions": series}
    trial.timings = timings(trial.events, inj, rst.t_ns, {e.prefix for e in ctx.net.topo.fib})
    trial.probe = {n: {"lateness_us": m["lateness_us"], "cpu": m["cpu"], "sent": sum(m["sent"])}
                   for n, m in meta.items()}


# --- a run -----------------------------------------------------------------------------------
def _first_line(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.splitlines()[0].strip() if out.strip() else None


def versions() -> dict[str, str | None]:
    return {"frr": _first_line(["/usr/lib/frr/zebra", "--version"]),
            "strongswan": _first_line(["/usr/lib/ipsec/charon", "--version"]),
            "kernel": platform.release(), "nftables": _first_line(["nft", "--version"]),
            "python": platform.python_version()}


OnTrial = Callable[[Context, Trial], "str | None"]


@dataclass
class _Plan:
    """One scenario of a run: its topology (checked), its trial count, and once it starts its
    writer, notes and trials."""

    scenario: Scenario
    topo: Any
    trials_n: int
    writer: RunWriter | None = None
    notes: list[str] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    stopped: str | None = None
    finished: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """Scenarios with the same key run on one bring-up: the same network, the same parameters."""
        return self.topo.name, json.dumps(self.topo.params.to_dict(), sort_keys=True, default=str)


def _plan(scenario: Scenario, opts: Options) -> _Plan:
    """Check ``scenario`` against its network before anything starts."""
    topology = opts.network or scenario.topology
    topo = catalog.build(topology, {**scenario.params, **opts.overrides})
    if len(topo.endpoints) != 2:
        raise TestbedError(f"topology {topo.name} declares no probe endpoints (Topology.endpoints), so "
                           f"scenario {scenario.name} cannot measure it: name its two hosts in the topology.")
    scenario.fault(topo).check(topo)
    trials_n = scenario.trials if opts.trials is None else opts.trials
    if trials_n < 1:
        raise TestbedError(f"{trials_n} trials is not a run: ask for at least 1 (--trials 1), or leave "
                           f"--trials out for the scenario's {scenario.trials}.")
    return _Plan(scenario, topo, trials_n)


def bring_up_key(scenario: Scenario, opts: Options) -> tuple[str, str]:
    """Scenarios whose keys are equal share a bring-up in ``run_all``."""
    return _plan(scenario, opts).key


def _open(plan: _Plan, opts: Options) -> None:
    """The plan's results directory: a new one, or with ``opts.resume`` the one to go on with."""
    sc, topo = plan.scenario, plan.topo
    if opts.resume:
        plan.writer = RunWriter.reopen(opts.resume)
        plan.notes += plan.writer.earlier_notes
        lost = f" (trial {', '.join(map(str, plan.writer.lost))} was in flight and runs again)" if plan.writer.lost else ""
        plan.notes.append(f"resumed after {len(plan.writer.trials)} trials{lost}")
    else:
        started = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        plan.writer = RunWriter(opts.out, sc.name, started, {
            "description": sc.summary, "topology": opts.network or sc.topology,
            "fault": sc.fault(topo).describe(), "trials_planned": plan.trials_n,
            "params": topo.params.to_dict(), "overrides": {**sc.params, **opts.overrides},
            # docs/azure.md#what-the-testbed-adds: parts Azure does not document, which shape the figures
            "testbed_additions": topo.params.additions(),
            "versions": versions(), "cpus": os.cpu_count(), "load_at_start": os.getloadavg(),
            "probe": {"flows": opts.flows, "rate_pps": opts.rate, "endpoints": list(topo.endpoints)},
        })
    plan.trials = list(plan.writer.trials)


def _finish(plan: _Plan) -> None:
    """The plan's pictures and final summary, whatever stopped it (an interrupted run too)."""
    if plan.writer is None:
        return
    if not plan.finished:
        plan.notes.append(f"interrupted after {len(plan.trials)} of {plan.trials_n} trials")
    for trial in plan.trials:  # drawn now, not between trials (each costs a good part of a trial)
        png = plan.writer.trial_path(trial.index, ".png")
        if not png.exists():   # a resumed run's earlier trials may have theirs
            plots.timeline(trial, png)
    plots.ecdf(plan.trials, plan.writer.dir / "ecdf.png",
               title=f"{plan.scenario.name}: outage over {len(plan.trials)} trials")
    plan.writer.write_summary(notes=plan.notes, load_at_end=os.getloadavg(),
                              **({"stopped": plan.stopped} if plan.stopped else {}))


def run(scenario: Scenario, opts: Options, on_trial: OnTrial | None = None) -> RunOutcome:
    """``run_all`` of one scenario; with ``opts.resume`` the run goes on in that directory: its
    trials stay, the remaining ones of its plan run."""
    return run_all([scenario], opts, on_trial)[0]


def run_all(scenarios: list[Scenario], opts: Options, on_trial: OnTrial | None = None) -> list[RunOutcome]:
    """Run each scenario's trials and write its results, in the order given; scenarios of the
    same network and parameters share one bring-up (a new one when a trial left the network
    broken). Every scenario is checked before anything starts; the network is always torn
    down, and every trial that ended is on disk whatever happens after it.

    ``on_trial`` sees each trial once it is on disk; a reason it returns stops that scenario
    there (``summary.json`` keeps it as ``stopped``)."""
    if opts.resume and len(scenarios) != 1:
        raise TestbedError("--resume goes on with one run: name its one scenario.")
    plans = [_plan(sc, opts) for sc in scenarios]
    groups: dict[tuple[str, str], list[_Plan]] = {}
    for plan in plans:
        groups.setdefault(plan.key, []).append(plan)
    handler, logger = _NoteHandler([]), logging.getLogger("testbed")
    # the notes only: Python's last-resort handler would also print each warning into the progress bar
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        for group in groups.values():
            pending = list(group)
            while pending:
                _share_bring_up(pending, opts, on_trial, handler)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    return [RunOutcome(p.writer.dir, load_summary(p.writer.dir), p.trials, p.notes) for p in plans]


def _share_bring_up(pending: list[_Plan], opts: Options, on_trial: OnTrial | None, handler: _NoteHandler) -> None:
    """One bring-up for the ``pending`` plans (same network, same parameters), taken off the
    list as they run, until a trial leaves the network broken or none are left."""
    first = current = pending[0]
    _open(first, opts)
    handler.notes = first.notes
    try:
        with Network(first.topo, run=opts.run_name) as net:
            # BFD is not awaited here: the first trial's baseline check waits for it (a BFD
            # session that never comes up fails it), while the flow plan runs meanwhile
            conv = converge.wait_converged(net, bfd=False)
            first.notes.append(f"converged in {conv.total_s:.1f} s")
            net.check_behaviours()
            points = pathmark.mark_points(net.topo)
            pathmark.install(net, points)
            reference = fib_snapshot(net)
            flows = flowplan.plan(net, net.topo.endpoints, net.dir / "preflight", opts.flows)
            while pending:
                current = pending.pop(0)
                if current.writer is None:
                    _open(current, opts)
                    current.notes.append(f"on the network brought up for {first.scenario.name}")
                handler.notes = current.notes
                broken = _trials(current, Context(net, current.scenario, opts, reference, points, flows.ports,
                                                  current.writer, current.notes), flows, on_trial)
                current.finished = True
                _finish(current)
                if broken:
                    return
    finally:  # an interrupted or failed run still gets its pictures and a final summary
        if not current.finished:
            _finish(current)


def _trials(plan: _Plan, ctx: Context, flows: flowplan.FlowPlan, on_trial: OnTrial | None) -> bool:
    """The plan's remaining trials on ``ctx.net``; whether the last one left the network broken."""
    ctx.writer.meta["probe"]["plan"] = flows.to_dict()
    if "dataplane" in ctx.net.state:  # where the tunnels' ESP ran (testbed.daemons.xfrm), and why
        ctx.writer.meta["ipsec_dataplane"] = {"used": ctx.net.state["dataplane"], "why": ctx.net.state["dataplane_why"]}
    if flows.uncovered:
        _note(plan.notes, f"{ctx.opts.flows} flows leave paths unmeasured: {', '.join(flows.uncovered)}")
    first = max((t.index for t in plan.trials), default=0) + 1
    with _progress(ctx.opts.progress, plan.scenario.name, plan.trials_n, len(plan.trials)) as advance:
        for k in range(first, plan.trials_n + 1):
            trial = run_trial(ctx, k)
            ctx.writer.add(trial)
            plan.trials.append(trial)
            advance(trial)
            plan.stopped = on_trial(ctx, trial) if on_trial else None
            if plan.stopped:
                _note(plan.notes, f"stopped after trial {k}: {plan.stopped}")
                return False
            ctx.net.check_behaviours()  # the trial is on disk; a dead behaviour ends the run
            if not trial.restored:
                _note(plan.notes, f"trial {k} left the network broken ({trial.error}): remaining trials skipped")
                return True
    return False


@contextmanager
def _progress(enabled: bool, name: str, total: int, done: int = 0) -> Iterator[Callable[[Trial], None]]:
    if not enabled:
        yield lambda t: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[last]}"), TimeElapsedColumn(), transient=False) as bar:
        task = bar.add_task(name, total=total, completed=done, last="")

        def advance(t: Trial) -> None:
            mark = "[green]pass[/]" if t.ok else "[red]FAIL[/]"
            bar.update(task, advance=1, last=f"trial {t.index}: outage {t.outage_ms:.0f} ms, "
                                              f"failback {t.restore_outage_ms:.0f} ms {mark}")
        yield advance
