"""Commands on runs: up (and its detached server), status, exec, vtysh, down, clean, list."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from testbed.errors import TestbedError
from testbed.model import catalog
from testbed.observe import converge
from testbed.runtime import state
from testbed.system import preflight
from testbed.ui.common import add_run_opts, add_topo_opts, overrides
from testbed.ui.tables import converged_text, print_status


def _bring_up(args: argparse.Namespace):
    from testbed.daemons.byoconfig import node_files
    from testbed.runtime.net import Network
    topo = catalog.build(args.topology, overrides(args))
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


def _print_up(net) -> None:
    from testbed.observe import status
    c = net.convergence
    print(f"{net.topo.name} converged in {c.total_s:.2f} s ({', '.join(f'{k} {v:.2f} s' for k, v in c.stages.items())})"
          if c else f"{net.topo.name} up, {converged_text(None, {})}")
    print_status(status.collect(net))


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
    from testbed.observe import status
    from testbed.runtime.net import Network
    net = Network.attach(args.name)
    print(f"{net.topo.name} up as run {args.name!r} in {time.monotonic() - t0:.2f} s "
          f"({converged_text(msg['total_s'], msg['stages'])}); pid {proc.pid}")
    print_status(status.collect(net))
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


def cmd_status(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.observe import status
    from testbed.runtime.net import Network
    st = status.collect(Network.attach(args.name))
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        print_status(st)
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
    from testbed.runtime.clean import clean_all, clean_left
    done = clean_left(args.run) if args.run else clean_all()
    print("\n".join(done) if done else "nothing to clean")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    print("Topologies:")
    names = catalog.names()
    width = max(map(len, names))
    for name in names:
        print(f"  {name:{width}} {catalog.summary(name)}")
    from testbed.trials import scenario
    print("Scenarios:")
    scenarios = [scenario.load(name) for name in scenario.names()]
    w_name, w_topo = max(len(s.name) for s in scenarios), max(len(s.topology) for s in scenarios)
    for sc in scenarios:
        print(f"  {sc.name:{w_name}} {sc.topology:{w_topo}} {sc.summary}")
    live = [(r, s) for r in state.runs() if (s := state.read(r)) and state.owner_alive(s)]
    print("Runs:" if live else "Runs: none up")
    for r, s in live:
        print(f"  {r:14} {s.get('topology')} ({s.get('status')}, pid {s.get('owner_pid')})")
    return 0


def register(sub) -> None:
    sp = sub.add_parser("up", help="bring a topology up and wait until it converged")
    add_topo_opts(sp)
    sp.add_argument("-d", "--detach", action="store_true", help="run in the background; stop with 'testbed down'")
    sp.add_argument("--cli", action="store_true", help="drop into Mininet's own CLI once converged")
    sp.set_defaults(func=cmd_up)
    sp = sub.add_parser("_serve")  # internal: the detached owner of a run
    sp.add_argument("fd", type=int)
    add_topo_opts(sp)
    sp.set_defaults(func=cmd_serve, cli=False)
    sp = sub.add_parser("status", help="sessions and paths of a running topology")
    sp.add_argument("--json", action="store_true")
    add_run_opts(sp)
    sp.set_defaults(func=cmd_status)
    sp = sub.add_parser("exec", help="run a command inside a node: testbed exec NODE -- CMD")
    sp.add_argument("node")
    sp.add_argument("command", nargs=argparse.REMAINDER)
    add_run_opts(sp)
    sp.set_defaults(func=cmd_exec)
    sp = sub.add_parser("vtysh", help="FRR's shell on a router")
    sp.add_argument("node")
    sp.add_argument("-c", action="append", metavar="CMD", help="run a command and exit (repeatable)")
    add_run_opts(sp)
    sp.set_defaults(func=cmd_vtysh)
    sp = sub.add_parser("down", help="stop a run and clean up")
    add_run_opts(sp)
    sp.set_defaults(func=cmd_down)
    sp = sub.add_parser("clean", help="remove whatever killed runs left behind (every run's, or one run's)")
    sp.add_argument("run", nargs="?", type=state.check_run_name,
                    help="clean only what this run left (other runs on the machine stay as they are)")
    sp.set_defaults(func=cmd_clean)
    sub.add_parser("list", help="topologies and running runs").set_defaults(func=cmd_list)
