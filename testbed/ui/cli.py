"""The ``testbed`` command: thin, it only parses arguments and calls the library."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from testbed.model import catalog
from testbed.model import params as params_mod
from testbed.system import preflight
from testbed.runtime import state
from testbed.errors import TestbedError
from testbed.measure.flowplan import MAX_FLOWS
from testbed.measure.probe import DEFAULT_FLOWS, DEFAULT_RATE
from testbed.observe import converge


def _overrides(args: argparse.Namespace) -> dict:
    out: dict = {}
    if getattr(args, "params", None):
        out.update(params_mod.load_file(args.params))
    out.update(params_mod.parse_sets(getattr(args, "set", None) or []))
    return out


def _console():
    from rich.console import Console
    return Console(width=None if sys.stdout.isatty() else 160)


def _shown(path: Path) -> str:
    """A path as short as it reads: relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- up / serve -------------------------------------------------------------------------------
def _bring_up(args: argparse.Namespace):
    from testbed.daemons.byoconfig import node_files
    from testbed.runtime.net import Network
    topo = catalog.build(args.topology, _overrides(args))
    preflight.check(vpn=bool(getattr(topo, "tunnels", None)))
    net = Network(topo, run=args.name, configs=node_files(args.config or []), configs_as_is=args.config_as_is)
    net.__enter__()
    try:
        if args.no_wait:
            net.mark_up()
        else:
            converge.wait_converged(net)
    except BaseException:
        net.stop()
        raise
    return net


def cmd_up(args: argparse.Namespace) -> int:
    preflight.require_root()
    t0 = time.monotonic()
    if args.detach:
        return _up_detached(args, t0)
    from testbed.runtime.net import Interrupted, install_signal_handlers
    install_signal_handlers()
    net = None
    try:
        net = _bring_up(args)
        _print_up(net)
        if args.cli:
            from mininet.cli import CLI
            CLI(net.mn)
        else:
            print("Up. Ctrl-C to stop and clean up.", flush=True)
            while True:
                signal.pause()
    except (Interrupted, KeyboardInterrupt):
        pass
    finally:
        if net is not None:
            net.stop()
    return 0


def _converged(total_s: float | None, stages: dict[str, float]) -> str:
    if total_s is None:
        return "without waiting for convergence"
    return f"converged {total_s:.2f} s after start: {', '.join(f'{k} {v:.2f} s' for k, v in stages.items())}"


def _print_up(net) -> None:
    from testbed.observe import status
    c = net.convergence
    print(f"{net.topo.name} converged in {c.total_s:.2f} s ({', '.join(f'{k} {v:.2f} s' for k, v in c.stages.items())})"
          if c else f"{net.topo.name} up, {_converged(None, {})}")
    _print_status(status.collect(net))


def _up_detached(args: argparse.Namespace, t0: float) -> int:
    """Fork a server process that owns the topology; report once it converged or failed."""
    rfd, wfd = os.pipe()
    argv = [sys.executable, "-m", "testbed.ui.cli", "_serve", str(wfd), *sys.argv[2:]]
    argv.remove("-d") if "-d" in argv else argv.remove("--detach")
    proc = subprocess.Popen(argv, pass_fds=[wfd], start_new_session=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        line = r.readline()
    if not line:
        proc.wait()
        raise TestbedError(f"the testbed server exited early (code {proc.returncode}): run without -d to see why.")
    msg = json.loads(line)
    if "error" in msg:
        proc.wait()
        raise TestbedError(msg["error"])
    from testbed.runtime.net import Network
    from testbed.observe import status
    net = Network.attach(args.name)
    print(f"{net.topo.name} up as run {args.name!r} in {time.monotonic() - t0:.2f} s "
          f"({_converged(msg['total_s'], msg['stages'])}); pid {proc.pid}")
    _print_status(status.collect(net))
    print(f"Stop it with 'testbed down{'' if args.name == state.DEFAULT_RUN else ' --name ' + args.name}'.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from testbed.runtime.net import Interrupted, install_signal_handlers
    install_signal_handlers()
    out = os.fdopen(args.fd, "w")
    net = None
    try:
        try:
            net = _bring_up(args)
        except TestbedError as e:
            out.write(json.dumps({"error": str(e)}) + "\n")
            return 1
        c = net.convergence
        out.write(json.dumps({"total_s": c.total_s if c else None, "stages": c.stages if c else {}}) + "\n")
        out.close()
        while True:
            signal.pause()
    except Interrupted:
        return 0
    finally:
        if net is not None:
            net.stop()


# --- inspecting a run -------------------------------------------------------------------------
def _print_status(st: dict) -> None:
    from rich.table import Table
    from rich import box
    con = _console()
    t = Table(title=f"BGP sessions ({st['topology']}, run {st['run']})", box=box.SIMPLE_HEAD)
    for col in ("router", "session", "peer", "address", "AS", "state", "up (s)", "rcvd", "sent", "BFD"):
        t.add_column(col)
    for b in st["bgp"]:
        colour = "green" if b["state"] == "Established" else "red"
        t.add_row(b["router"], b["session"], b["peer"], b["address"], str(b["remote_as"]),
                  f"[{colour}]{b['state']}[/]", str(b["uptime_s"]), str(b["prefixes_received"]),
                  str(b["prefixes_sent"]), b["bfd"])
    con.print(t)
    p = Table(title="Paths in use (kernel FIB)", box=box.SIMPLE_HEAD)
    for col in ("node", "prefix", "via", "expected"):
        p.add_column(col)
    for row in st["paths"]:
        want = row["expected_via"]
        expected = ", ".join(want) if want else f"{row['expected_nexthops']} next hop(s)"
        p.add_row(row["node"], row["prefix"], ", ".join(row["via"]) or "[red]no route[/]",
                  expected + ("" if row["ok"] else " [red](not so)[/]"))
    con.print(p)
    if st.get("tunnels"):
        v = Table(title=f"IPsec tunnels ({st['tunnels'][0]['dataplane']})", box=box.SIMPLE_HEAD)
        for col in ("tunnel", "node", "side", "TUN", "IKE SA", "CHILD SA", "up (s)", "bytes in", "bytes out"):
            v.add_column(col)
        for row in st["tunnels"]:
            v.add_row(row["tunnel"], row["node"], row["side"], str(row.get("tun")), str(row.get("ike_state")),
                      str(row.get("child_state")), str(row.get("established_s")), str(row.get("bytes_in")),
                      str(row.get("bytes_out")))
        con.print(v)


def cmd_status(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.runtime.net import Network
    from testbed.observe import status
    st = status.collect(Network.attach(args.name))
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        _print_status(st)
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.runtime.net import Network
    argv = list(args.command)
    if argv[:1] == ["--name"] and len(argv) > 1:  # `exec NODE --name RUN -- CMD` reads naturally too
        args.name, argv = state.check_run_name(argv[1]), argv[2:]
    argv = argv[1:] if argv[:1] == ["--"] else argv
    net = Network.attach(args.name)
    if not argv:
        argv = [os.environ.get("SHELL", "bash")]
    return net.run_in(args.node, argv).returncode


def cmd_vtysh(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.runtime.net import Network
    net = Network.attach(args.name)
    if args.node not in net.frr:
        raise TestbedError(f"{args.node!r} is not a router of {net.topo.name}: choose one of {', '.join(net.frr)}.")
    argv = ["vtysh", "-N", net.frr[args.node].instance, "--config_dir", str(_vtysh_config_dir(net, args.node))]
    for c in args.c or []:
        argv += ["-c", c]
    return subprocess.run(argv, stderr=subprocess.DEVNULL if args.c else None).returncode


def _vtysh_config_dir(net, node: str) -> Path:
    """A config dir whose INSTANCE/vtysh.conf names the router: vtysh's prompt is then 'ce1#',
    not the host's name, and it does not warn that /etc/frr/INSTANCE/vtysh.conf is missing."""
    root = net.dir / "vtysh"
    (root / net.frr[node].instance).mkdir(parents=True, exist_ok=True)
    (root / net.frr[node].instance / "vtysh.conf").write_text(f"hostname {node}\n")
    return root


def cmd_down(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.runtime.clean import clean_run
    state.require_running(args.name)
    clean_run(args.name)
    print(f"run {args.name!r} stopped and cleaned up")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.runtime.clean import clean_all
    done = clean_all()
    print("\n".join(done) if done else "nothing to clean")
    return 0


DEMO_SCENARIO, DEMO_TRIALS = "er-circuit-down", 3


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job: the default hybrid scenario (ExpressRoute circuit failure, VPN fallback,
    failback) for a few trials, with results, plots and the summary table."""
    print(f"testbed: running {DEMO_SCENARIO} on the hybrid topology, {DEMO_TRIALS} trials "
          f"(results in {args.out}/)", flush=True)
    run_args = argparse.Namespace(scenario=[DEMO_SCENARIO], trials=DEMO_TRIALS, set=[], params=None,
                                  out=args.out, pcap=False, flows=DEFAULT_FLOWS,
                                  rate=DEFAULT_RATE)
    return cmd_run(run_args)


def cmd_run(args: argparse.Namespace) -> int:
    from testbed.results import report
    from testbed.trials import runner
    from testbed.trials import scenario
    from testbed.runtime.net import Interrupted, install_signal_handlers
    preflight.check(vpn=True)
    scenarios = [scenario.load(name) for name in args.scenario]  # every name checked up front
    install_signal_handlers()
    done = []
    try:
        for sc in scenarios:
            if not 1 <= args.flows <= MAX_FLOWS or args.rate <= 0:
                raise TestbedError(f"--flows must be 1 to {MAX_FLOWS} and --rate above 0: for example --flows 16 --rate 250.")
            opts = runner.Options(trials=args.trials, overrides=_overrides(args), out=Path(args.out), pcap=args.pcap,
                                  flows=args.flows, rate=args.rate)
            done.append(runner.run(sc, opts))
    except (Interrupted, KeyboardInterrupt):
        print("interrupted: the trials that ended are on disk", file=sys.stderr)
        return 130
    con = _console()
    con.print(report.summary_table([o.summary for o in done]))
    for o in done:
        verdict = "[green]PASS[/]" if o.summary["ok"] else "[red]FAIL[/]"
        con.print(f"{verdict} {o.summary['scenario']}: {o.summary['description']} -> {o.dir}")
        for line in report.failures(o.summary) + [f"note: {n}" for n in o.notes]:
            con.print(f"    {line}", highlight=False)
    return 0 if all(o.summary["ok"] for o in done) else 1


def cmd_report(args: argparse.Namespace) -> int:
    from testbed.results import report, store
    runs = store.find_runs(Path(args.dir))
    if not runs:
        raise TestbedError(f"no run results (summary.json) under {args.dir}: point at a results directory.")
    summaries = [store.load_summary(r) for r in runs]
    con = _console()
    con.print(report.summary_table(summaries))
    for s in summaries:
        for line in report.failures(s):
            con.print(f"  {s['scenario']} {line}", highlight=False)
    if args.baseline:
        base = {b["scenario"]: b for b in map(store.load_summary, store.find_runs(Path(args.baseline)))}
        for s in summaries:
            if s["scenario"] in base:
                con.print(report.diff_table(s, base[s["scenario"]]))
            else:
                con.print(f"{s['scenario']}: no run of it under {args.baseline} to compare with")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    print("Topologies:")
    for name in catalog.names():
        print(f"  {name:14} {catalog.summary(name)}")
    live = [(r, s) for r in state.runs() if (s := state.read(r)) and state.owner_alive(s)]
    print("Runs:" if live else "Runs: none up")
    for r, s in live:
        print(f"  {r:14} {s.get('topology')} ({s.get('status')}, pid {s.get('owner_pid')})")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    mod_extra = catalog.module(args.topology).__dict__.get("PARAMS") if args.topology else None
    p = params_mod.Params({}, extra=mod_extra)
    for key in p:
        print(f"{key:30} {str(p[key]):22} {p.help(key)}")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from testbed.azure.lint import lint_files
    findings = lint_files(args.config, premium=args.premium)
    for f in findings:
        print(f)
    print(f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in {len(args.config)} file"
          f"{'s' if len(args.config) != 1 else ''}", file=sys.stderr)
    return 1 if findings else 0


def cmd_config_template(args: argparse.Namespace) -> int:
    from testbed.daemons.byoconfig import template
    print(template(catalog.build(args.topology, _overrides(args)), args.node), end="")
    return 0


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
    con = None if args.json else _console()
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


def cmd_bench(args: argparse.Namespace) -> int:
    from testbed.bench import run as bench
    from testbed.bench import report as bench_report
    from testbed.runtime.net import Interrupted, install_signal_handlers
    preflight.check(vpn=True)
    install_signal_handlers()  # Ctrl-C/SIGTERM unwind through every network's clean-up
    out = Path(args.out or f"results/bench/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    con = _console()
    say = (lambda msg: None) if args.json else (lambda msg: con.print(msg, style="dim"))
    try:
        doc = bench.run(bench.QUICK if args.quick else bench.FULL, out, say)
    except (Interrupted, KeyboardInterrupt):
        print(f"benchmark interrupted; cleaned up (the sections that ended are in {out}/bench.json)", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(doc, indent=1))
        return 0
    con.print(bench_report.table(doc))
    for line in bench_report.target_lines(doc):
        con.print(line, highlight=False)
    con.print(f"wrote {out / 'bench.json'}")
    return 0


# --- training labs and the topology picture ---------------------------------------------------
def cmd_lab_list(args: argparse.Namespace) -> int:
    from testbed.labs import lab as labs
    found = [labs.load(name) for name in labs.names()]
    width = max((len(lab.title) for lab in found), default=0)
    for lab in found:
        print(f"  {lab.number:2}  {lab.title:{width}}  {lab.topology:13} {_shown(lab.dir / 'README.md')}")
    return 0


def cmd_lab_start(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.labs import lab as labs
    lab = labs.load(args.lab)
    from testbed.observe import status
    from testbed.runtime.net import Network
    print(f"Starting lab {lab.number}: {lab.title} ({lab.topology} topology, run {args.name!r})...", flush=True)
    labs.start(lab, args.name)
    _print_status(status.collect(Network.attach(args.name)))
    print(labs.intro(lab, args.name))
    return 0


def cmd_lab_check(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.labs import lab as labs
    from testbed.runtime.net import Network
    lab = labs.running(args.name)
    results = labs.check(lab, Network.attach(args.name))
    if args.json:
        print(json.dumps(labs.as_json(lab, results), indent=2))
    else:
        con = _console()
        for line in labs.report(lab, results):
            con.print(line, highlight=False)
    return 0 if all(r.ok for r in results) else 1


def cmd_lab_solve(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.labs import lab as labs
    from testbed.runtime.net import Network
    lab = labs.running(args.name)
    routers = labs.solve(lab, Network.attach(args.name))
    print(f"Applied the reference solution of lab {lab.number} to {', '.join(routers)} "
          f"(labs/{lab.name}/solution/). BGP needs a few seconds: then 'testbed lab check'.")
    return 0


def cmd_lab_reset(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.labs import lab as labs
    lab = labs.reset(args.name)
    print(f"Lab {lab.number} started again from its starting configs.")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from testbed.ui import graph
    states = None
    if args.topology:
        topo = catalog.build(args.topology, _overrides(args))
    else:
        preflight.require_root()
        from testbed.runtime.net import Network
        net = Network.attach(args.name)
        topo, states = net.topo, graph.live_states(net)
    highlight = tuple(n for n in (args.highlight or "").split(",") if n)
    print(graph.text(topo, states, highlight))
    if args.png:
        graph.png(topo, Path(args.png), states, highlight)
        print(f"\nwrote {args.png}")
    return 0


# --- parser -----------------------------------------------------------------------------------
def _add_run_opts(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--name", default=state.DEFAULT_RUN, type=state.check_run_name,
                    help=f"run name, so several runs can coexist (default {state.DEFAULT_RUN})")


def _add_lab_run_opts(sp: argparse.ArgumentParser) -> None:
    from testbed.labs.lab import LAB_RUN
    sp.add_argument("--name", default=LAB_RUN, type=state.check_run_name,
                    help=f"the lab's run name (default {LAB_RUN})")


def _add_param_opts(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--set", action="append", metavar="K=V", help="override a parameter ('testbed params')")
    sp.add_argument("--params", metavar="FILE", help="a params file (TOML or JSON)")


def _add_topo_opts(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("topology", help="topology name ('testbed list')")
    _add_param_opts(sp)
    sp.add_argument("--config", action="append", metavar="NODE=FILE", help="use your own frr.conf on a router")
    sp.add_argument("--config-as-is", action="store_true",
                    help="run the --config files unchecked, as they are (a lab's starting configs are wrong on purpose)")
    sp.add_argument("--no-wait", action="store_true",
                    help="do not wait for convergence, only for the daemons (a lab starts broken on purpose)")
    _add_run_opts(sp)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="testbed", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sp = sub.add_parser("up", help="bring a topology up and wait until it converged")
    _add_topo_opts(sp)
    sp.add_argument("-d", "--detach", action="store_true", help="run in the background; stop with 'testbed down'")
    sp.add_argument("--cli", action="store_true", help="drop into Mininet's own CLI once converged")
    sp.set_defaults(func=cmd_up)
    sp = sub.add_parser("_serve")  # internal: the detached owner of a run
    sp.add_argument("fd", type=int)
    _add_topo_opts(sp)
    sp.set_defaults(func=cmd_serve, cli=False)
    sp = sub.add_parser("status", help="sessions and paths of a running topology")
    sp.add_argument("--json", action="store_true")
    _add_run_opts(sp)
    sp.set_defaults(func=cmd_status)
    sp = sub.add_parser("exec", help="run a command inside a node: testbed exec NODE -- CMD")
    sp.add_argument("node")
    sp.add_argument("command", nargs=argparse.REMAINDER)
    _add_run_opts(sp)
    sp.set_defaults(func=cmd_exec)
    sp = sub.add_parser("vtysh", help="FRR's shell on a router")
    sp.add_argument("node")
    sp.add_argument("-c", action="append", metavar="CMD", help="run a command and exit (repeatable)")
    _add_run_opts(sp)
    sp.set_defaults(func=cmd_vtysh)
    sp = sub.add_parser("down", help="stop a run and clean up")
    _add_run_opts(sp)
    sp.set_defaults(func=cmd_down)
    sp = sub.add_parser("demo", help="the main job: the default hybrid failover scenario, results and plots")
    sp.add_argument("--out", default="results", help="where results go (default results/)")
    sp.set_defaults(func=cmd_demo)
    sp = sub.add_parser("run", help="run failure scenarios: trials, results, plots, pass/fail")
    sp.add_argument("scenario", nargs="+", help="scenario name(s): see scenarios/ (dashes for underscores)")
    sp.add_argument("--trials", type=int, help="trials per scenario (default: the scenario's)")
    _add_param_opts(sp)
    sp.add_argument("--out", default="results", metavar="DIR", help="results root (default ./results)")
    sp.add_argument("--pcap", action="store_true", help="keep pcaps and probe records of every trial")
    sp.add_argument("--flows", type=int, default=DEFAULT_FLOWS,
                    help="probe flows each way, ports planned so every equal-cost path carries some (default %(default)s)")
    sp.add_argument("--rate", type=float, default=DEFAULT_RATE,
                    help="packets/s per flow: the outage resolution is 1/rate (default %(default)g)")
    sp.set_defaults(func=cmd_run)
    sp = sub.add_parser("report", help="the table of a results directory, and the change against a baseline")
    sp.add_argument("dir", help="a run directory, or a directory holding runs")
    sp.add_argument("--baseline", metavar="DIR", help="runs to compare against (same scenarios)")
    sp.set_defaults(func=cmd_report)
    sub.add_parser("clean", help="remove whatever killed runs left behind").set_defaults(func=cmd_clean)
    sub.add_parser("list", help="topologies and running runs").set_defaults(func=cmd_list)
    sp = sub.add_parser("params", help="every parameter with its (Azure) default")
    sp.add_argument("topology", nargs="?")
    sp.set_defaults(func=cmd_params)
    sp = sub.add_parser("lint", help="Azure conformance checks on on-prem FRR configs (exit 1 on findings)")
    sp.add_argument("config", nargs="+", metavar="CONFIG", help="FRR config files, checked together")
    sp.add_argument("--premium", action="store_true", help="ExpressRoute Premium: 10,000-prefix limit")
    sp.set_defaults(func=cmd_lint)
    sp = sub.add_parser("config-template", help="the names, addresses and config your own config for a node must fit")
    sp.add_argument("node", help="an on-prem router (ce1, ce2, vpn1, core)")
    sp.add_argument("topology", help="topology name ('testbed list')")
    _add_param_opts(sp)
    sp.set_defaults(func=cmd_config_template)
    sp = sub.add_parser("calibrate", help="inject outages of known length and check the measured ones")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--repeats", type=int, default=5, metavar="N", help="injections of each length (default 5)")
    sp.add_argument("--outages", default="20,100,500,2000", metavar="MS,...",
                    help="outage lengths in ms (default 20,100,500,2000)")
    sp.set_defaults(func=cmd_calibrate)
    sp = sub.add_parser("bench", help="benchmarks: bring-up, trial cycle, FIB at scale, probe CPU, memory, chain size")
    sp.add_argument("--quick", action="store_true", help="fewer repetitions, 1,000 prefixes, chain up to 16 (< 2 min)")
    sp.add_argument("--json", action="store_true", help="print bench.json instead of the table")
    sp.add_argument("--out", metavar="DIR", help="where bench.json goes (default results/bench/<UTC time>)")
    sp.set_defaults(func=cmd_bench)
    sp = sub.add_parser("lab", help="training labs: list, start N, check, solve, reset")
    lab = sp.add_subparsers(dest="lab_cmd", required=True, metavar="ACTION")
    lab.add_parser("list", help="the labs, in order of difficulty").set_defaults(func=cmd_lab_list)
    sp = lab.add_parser("start", help="start lab N from its starting configs (stops a lab already up)")
    sp.add_argument("lab", help="lab number or folder name ('testbed lab list')")
    _add_lab_run_opts(sp)
    sp.set_defaults(func=cmd_lab_start)
    sp = lab.add_parser("check", help="check each task: pass, or fail with a hint (exit 0 only if all pass)")
    sp.add_argument("--json", action="store_true")
    _add_lab_run_opts(sp)
    sp.set_defaults(func=cmd_lab_check)
    sp = lab.add_parser("solve", help="apply the reference solution to the running lab (for instructors)")
    _add_lab_run_opts(sp)
    sp.set_defaults(func=cmd_lab_solve)
    sp = lab.add_parser("reset", help="start the running lab again from its starting configs")
    _add_lab_run_opts(sp)
    sp.set_defaults(func=cmd_lab_reset)
    sp = sub.add_parser("graph", help="a picture of a topology or a running run: nodes, links, addresses, ASNs, tunnels")
    sp.add_argument("topology", nargs="?", help="a topology name; without it, the running run (--name)")
    sp.add_argument("--name", "--run", dest="name", default=state.DEFAULT_RUN, type=state.check_run_name,
                    help=f"the running run to draw, with its BGP states (default {state.DEFAULT_RUN})")
    _add_param_opts(sp)
    sp.add_argument("--png", metavar="FILE", help="also draw it as a PNG")
    sp.add_argument("--highlight", metavar="NODES", help="routers to mark, comma-separated (a lab's routers to fix)")
    sp.set_defaults(func=cmd_graph)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except TestbedError as e:
        print(f"testbed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
