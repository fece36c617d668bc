"""Commands on scenarios and their results: demo (the main job), run, report, calibrate."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from testbed.errors import TestbedError
from testbed.measure.flowplan import MAX_FLOWS
from testbed.measure.probe import DEFAULT_FLOWS, DEFAULT_RATE
from testbed.runtime import state
from testbed.system import preflight
from testbed.ui.common import add_param_opts, at_least_one, console, out_dir, overrides

DEMO_SCENARIO, DEMO_TRIALS = "er-circuit-down", 3


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job: the default hybrid scenario (ExpressRoute circuit failure, VPN fallback,
    failback) for a few trials, with results, plots and the summary table."""
    print(f"testbed: running {DEMO_SCENARIO} on the hybrid topology, {DEMO_TRIALS} trials "
          f"(results in {args.out}/)", flush=True)
    return cmd_run(demo_args(args.out))


def demo_args(out: str) -> argparse.Namespace:
    """The main job's arguments, parsed by ``run``'s own parser so that it takes every option
    ``run`` has, with its defaults."""
    parser = argparse.ArgumentParser(prog="testbed run")
    register_run(parser)
    return parser.parse_args([DEMO_SCENARIO, "--trials", str(DEMO_TRIALS), "--out", out])


def cmd_run(args: argparse.Namespace) -> int:
    from testbed.results import report
    from testbed.runtime.net import Interrupted, install_signal_handlers
    from testbed.trials import runner, scenario
    scenarios = [scenario.load(name) for name in args.scenario]  # every name checked up front
    check_probe(args.flows, args.rate)
    try:
        with out_dir(args.out) as out:
            preflight.check(vpn=True)
            install_signal_handlers()
            # scenarios of one network and parameters share a bring-up
            done = runner.run_all(scenarios, runner.Options(
                trials=args.trials, overrides=overrides(args), out=out, pcap=args.pcap, flows=args.flows,
                rate=args.rate, network=args.network, **({"run_name": args.name} if args.name else {})))
    except (Interrupted, KeyboardInterrupt):
        print("interrupted: the trials that ended are on disk", file=sys.stderr)
        return 130
    if args.junit:
        from testbed.results import junit
        junit.write(Path(args.junit), [junit.run_suite(o.summary) for o in done])
    con = console()
    con.print(report.summary_table([o.summary for o in done]))
    for o in done:
        verdict = "[green]PASS[/]" if o.summary["ok"] else "[red]FAIL[/]"
        con.print(f"{verdict} {o.summary['scenario']}: {o.summary['description']} -> {o.dir}")
        for line in report.failures(o.summary) + [f"note: {n}" for n in o.notes]:
            con.print(f"    {line}", highlight=False)
    return 0 if all(o.summary["ok"] for o in done) else 1


def cmd_report(args: argparse.Namespace) -> int:
    """The table of the runs under DIR; with --baseline the change against it, with --fail-on a
    gate (exit 1, one line per breach), with --html one self-contained page."""
    from testbed.results import gate, report, store
    rules = gate.parse(args.fail_on or [])
    if args.fail_on and not args.baseline:
        raise TestbedError("--fail-on compares against a baseline: add --baseline DIR (an earlier run of the same "
                           "scenarios).")
    runs = store.find_runs(Path(args.dir))
    if not runs:
        raise TestbedError(f"no run results (summary.json) under {args.dir}: point at a results directory.")
    summaries = [store.load_summary(r) for r in runs]
    con = console()
    con.print(report.summary_table(summaries))
    for s in summaries:
        for line in report.failures(s):
            con.print(f"  {s['scenario']} {line}", highlight=False)
    base: dict = {}
    if args.baseline:
        base = {b["scenario"]: b for b in map(store.load_summary, store.find_runs(Path(args.baseline)))}
        for s in summaries:
            if s["scenario"] in base:
                con.print(report.diff_table(s, base[s["scenario"]]))
                for metric in ("outage_ms", "restore_outage_ms"):
                    con.print(f"  {metric}: {gate.noise(s, base[s['scenario']], metric)}", highlight=False)
            else:
                con.print(f"{s['scenario']}: no run of it under {args.baseline} to compare with")
    breaches = {r: gate.breaches(s, base[s["scenario"]], rules) if s["scenario"] in base
                else [f"{s['scenario']}: no baseline run of it under {args.baseline}"]
                for r, s in zip(runs, summaries)} if args.fail_on else {}
    if args.html:
        from testbed.ui.htmlreport import write_report
        write_report(Path(args.html), runs, summaries, base, breaches)
        print(f"wrote {args.html}")
    lines = [line for found in breaches.values() for line in found]
    for line in lines:
        print(f"breach: {line}")
    if args.fail_on:
        print(f"gate: {len(lines)} breach{'es' if len(lines) != 1 else ''} of --fail-on {','.join(args.fail_on)}"
              if lines else f"gate: passed --fail-on {','.join(args.fail_on)}")
    return 1 if lines else 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.measure.calibrate import calibrate, render
    from testbed.runtime.net import Interrupted, install_signal_handlers
    try:
        outages = [float(x) for x in args.outages.split(",") if x.strip()]
    except ValueError:
        outages = []
    if not outages or min(outages) <= 0 or args.repeats < 1:
        raise TestbedError(f"--outages wants positive milliseconds separated by commas (like 20,100,500,2000) "
                           f"and --repeats at least 1; got {args.outages!r} and {args.repeats}.")
    install_signal_handlers()  # Ctrl-C/SIGTERM unwind through calibrate's clean-up
    con = None if args.json else console()
    try:
        res = calibrate(outages, args.repeats,
                        progress=None if args.json else (lambda msg: con.print(msg, style="dim")))
    except (Interrupted, KeyboardInterrupt):
        print("calibration interrupted; cleaned up", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        render(res, con)
    return 0 if res["ok"] else 1


def register(sub) -> None:
    sp = sub.add_parser("demo", help="the main job: the default hybrid failover scenario, results and plots")
    sp.add_argument("--out", default="results", help="where results go (default results/)")
    sp.set_defaults(func=cmd_demo)
    register_run(sub.add_parser("run", help="run failure scenarios: trials, results, plots, pass/fail"))
    sp = sub.add_parser("report", help="the table of a results directory, and the change against a baseline")
    sp.add_argument("dir", help="a run directory, or a directory holding runs")
    sp.add_argument("--baseline", metavar="DIR", help="runs to compare against (same scenarios)")
    sp.add_argument("--fail-on", action="append", metavar="RULES",
                    help="exit 1 when the run breaks a rule against the baseline: STAT+Nms or STAT+N%% "
                         "(STAT p50, p95, max of the outage; failback.STAT of the failback), verdict (pass -> fail), "
                         "path (a path changed); comma-separated or repeated, e.g. p95+20%%,max+100ms,verdict,path")
    sp.add_argument("--html", metavar="FILE", help="also write one self-contained HTML page of the runs")
    sp.set_defaults(func=cmd_report)
    sp = sub.add_parser("calibrate", help="inject outages of known length and check the measured ones")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--repeats", type=int, default=5, metavar="N", help="injections of each length (default 5)")
    sp.add_argument("--outages", default="20,100,500,2000", metavar="MS,...",
                    help="outage lengths in ms (default 20,100,500,2000)")
    sp.set_defaults(func=cmd_calibrate)


def register_run(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("scenario", nargs="+", help="scenario name(s): 'testbed list' lists them")
    sp.add_argument("--trials", type=at_least_one, help="trials per scenario (default: the scenario's)")
    sp.add_argument("--junit", metavar="FILE",
                    help="also write the verdicts as JUnit XML: a test case per scenario and per trial")
    add_trial_opts(sp)
    sp.set_defaults(func=cmd_run)


def check_probe(flows: int, rate: float) -> None:
    if not 1 <= flows <= MAX_FLOWS or rate <= 0:
        raise TestbedError(f"--flows must be 1 to {MAX_FLOWS} and --rate above 0: for example --flows 16 --rate 250.")


def add_trial_opts(sp: argparse.ArgumentParser) -> None:
    """How trials run, shared by ``run`` and ``soak``: the network, parameters, results, probes."""
    sp.add_argument("--network", metavar="FILE", help="run on this network file instead of the scenario's topology")
    add_param_opts(sp)
    sp.add_argument("--out", default="results", metavar="DIR", help="results root (default ./results)")
    sp.add_argument("--pcap", action="store_true", help="keep pcaps and probe records of every trial")
    sp.add_argument("--name", type=state.check_run_name,
                    help="run name of the network the trials run on, so several runs can coexist (default: from the process id)")
    sp.add_argument("--flows", type=int, default=DEFAULT_FLOWS,
                    help="probe flows each way, ports planned so every equal-cost path carries some (default %(default)s)")
    sp.add_argument("--rate", type=float, default=DEFAULT_RATE,
                    help="packets/s per flow: the outage resolution is 1/rate (default %(default)g)")
