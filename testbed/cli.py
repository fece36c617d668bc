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

from testbed import catalog, params as params_mod, preflight, state
from testbed.errors import TestbedError


def _overrides(args: argparse.Namespace) -> dict:
    out: dict = {}
    if getattr(args, "params", None):
        out.update(params_mod.load_file(args.params))
    out.update(params_mod.parse_sets(getattr(args, "set", None) or []))
    return out


def _configs(items: list[str] | None) -> dict[str, Path]:
    out = {}
    for item in items or []:
        node, sep, path = item.partition("=")
        if not sep or not node or not path:
            raise TestbedError(f"--config wants NODE=FILE, got {item!r}: write it like ce1=my-edge.conf.")
        out[node] = Path(path).resolve()
    return out


def _console():
    from rich.console import Console
    return Console(width=None if sys.stdout.isatty() else 160)


# --- up / serve -------------------------------------------------------------------------------
def _bring_up(args: argparse.Namespace):
    from testbed.net import Network
    topo = catalog.build(args.topology, _overrides(args))
    preflight.check(vpn=bool(getattr(topo, "tunnels", None)))
    net = Network(topo, run=args.name, configs=_configs(args.config))
    net.__enter__()
    try:
        net.wait_converged()
    except BaseException:
        net.stop()
        raise
    return net


def cmd_up(args: argparse.Namespace) -> int:
    preflight.require_root()
    t0 = time.monotonic()
    if args.detach:
        return _up_detached(args, t0)
    from testbed.net import Interrupted, install_signal_handlers
    install_signal_handlers()
    net = None
    try:
        net = _bring_up(args)
        _print_up(net.convergence.total_s, net)
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


def _print_up(total_s: float, net) -> None:
    from testbed import status
    print(f"{net.topo.name} converged in {total_s:.2f} s "
          f"({', '.join(f'{k} {v:.2f} s' for k, v in net.convergence.stages.items())})")
    _print_status(status.collect(net))


def _up_detached(args: argparse.Namespace, t0: float) -> int:
    """Fork a server process that owns the topology; report once it converged or failed."""
    rfd, wfd = os.pipe()
    argv = [sys.executable, "-m", "testbed.cli", "_serve", str(wfd), *sys.argv[2:]]
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
    from testbed.net import Network
    from testbed import status
    net = Network.attach(args.name)
    print(f"{net.topo.name} up as run {args.name!r} in {time.monotonic() - t0:.2f} s "
          f"(converged {msg['total_s']:.2f} s after start: "
          f"{', '.join(f'{k} {v:.2f} s' for k, v in msg['stages'].items())}); pid {proc.pid}")
    _print_status(status.collect(net))
    print(f"Stop it with 'testbed down{'' if args.name == state.DEFAULT_RUN else ' --name ' + args.name}'.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from testbed.net import Interrupted, install_signal_handlers
    install_signal_handlers()
    out = os.fdopen(args.fd, "w")
    net = None
    try:
        try:
            net = _bring_up(args)
        except TestbedError as e:
            out.write(json.dumps({"error": str(e)}) + "\n")
            return 1
        out.write(json.dumps({"total_s": net.convergence.total_s, "stages": net.convergence.stages}) + "\n")
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
    for col in ("node", "prefix", "via", "expected next hops"):
        p.add_column(col)
    for row in st["paths"]:
        ok = len(row["via"]) >= row["expected_nexthops"]
        p.add_row(row["node"], row["prefix"], ", ".join(row["via"]) or "[red]no route[/]",
                  f"{row['expected_nexthops']}" + ("" if ok else " [red](missing)[/]"))
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
    from testbed.net import Network
    from testbed import status
    st = status.collect(Network.attach(args.name))
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        _print_status(st)
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.net import Network
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
    from testbed.net import Network
    net = Network.attach(args.name)
    if args.node not in net.frr:
        raise TestbedError(f"{args.node!r} is not a router of {net.topo.name}: choose one of {', '.join(net.frr)}.")
    argv = ["vtysh", "-N", net.frr[args.node].instance]
    for c in args.c or []:
        argv += ["-c", c]
    return subprocess.run(argv, stderr=subprocess.DEVNULL if args.c else None).returncode


def cmd_down(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.clean import clean_run
    state.require_running(args.name)
    clean_run(args.name)
    print(f"run {args.name!r} stopped and cleaned up")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.clean import clean_all
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
                                  out=args.out, pcap=False)
    return cmd_run(run_args)


def cmd_run(args: argparse.Namespace) -> int:
    from testbed import results, runner, scenario
    from testbed.net import Interrupted, install_signal_handlers
    preflight.check(vpn=True)
    scenarios = [scenario.load(name) for name in args.scenario]  # every name checked up front
    install_signal_handlers()
    done = []
    try:
        for sc in scenarios:
            opts = runner.Options(trials=args.trials, overrides=_overrides(args), out=Path(args.out), pcap=args.pcap)
            done.append(runner.run(sc, opts))
    except (Interrupted, KeyboardInterrupt):
        print("interrupted: the trials that ended are on disk", file=sys.stderr)
        return 130
    con = _console()
    con.print(results.summary_table([o.summary for o in done]))
    for o in done:
        verdict = "[green]PASS[/]" if o.summary["ok"] else "[red]FAIL[/]"
        con.print(f"{verdict} {o.summary['scenario']}: {o.summary['description']} -> {o.dir}")
        for line in results.failures(o.summary) + [f"note: {n}" for n in o.notes]:
            con.print(f"    {line}", highlight=False)
    return 0 if all(o.summary["ok"] for o in done) else 1


def cmd_report(args: argparse.Namespace) -> int:
    from testbed import results
    runs = results.find_runs(Path(args.dir))
    if not runs:
        raise TestbedError(f"no run results (summary.json) under {args.dir}: point at a results directory.")
    summaries = [results.load_summary(r) for r in runs]
    con = _console()
    con.print(results.summary_table(summaries))
    for s in summaries:
        for line in results.failures(s):
            con.print(f"  {s['scenario']} {line}", highlight=False)
    if args.baseline:
        base = {b["scenario"]: b for b in map(results.load_summary, results.find_runs(Path(args.baseline)))}
        for s in summaries:
            if s["scenario"] in base:
                con.print(results.diff_table(s, base[s["scenario"]]))
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


def cmd_calibrate(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.calibrate import calibrate, render
    from testbed.net import Interrupted, install_signal_handlers
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


# --- parser -----------------------------------------------------------------------------------
def _add_run_opts(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--name", default=state.DEFAULT_RUN, type=state.check_run_name,
                    help=f"run name, so several runs can coexist (default {state.DEFAULT_RUN})")


def _add_topo_opts(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("topology", help="topology name ('testbed list')")
    sp.add_argument("--set", action="append", metavar="K=V", help="override a parameter ('testbed params')")
    sp.add_argument("--params", metavar="FILE", help="a params file (TOML or JSON)")
    sp.add_argument("--config", action="append", metavar="NODE=FILE", help="use your own frr.conf on a router")
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
    sp.add_argument("--set", action="append", metavar="K=V", help="override a parameter ('testbed params')")
    sp.add_argument("--params", metavar="FILE", help="a params file (TOML or JSON)")
    sp.add_argument("--out", default="results", metavar="DIR", help="results root (default ./results)")
    sp.add_argument("--pcap", action="store_true", help="keep pcaps and probe records of every trial")
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
    sp = sub.add_parser("calibrate", help="inject outages of known length and check the measured ones")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--repeats", type=int, default=5, metavar="N", help="injections of each length (default 5)")
    sp.add_argument("--outages", default="20,100,500,2000", metavar="MS,...",
                    help="outage lengths in ms (default 20,100,500,2000)")
    sp.set_defaults(func=cmd_calibrate)
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
