"""``testbed soak``: one scenario for many trials, unattended, with health lines and a verdict."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from testbed.errors import TestbedError
from testbed.system import preflight
from testbed.trials.health import Thresholds
from testbed.ui.common import at_least_one, console, out_dir, overrides
from testbed.ui.scenarios import add_trial_opts, check_probe


def _run_options(o: dict[str, Any], out: Path):
    from testbed.trials import runner
    return runner.Options(trials=o["trials"], overrides=o["overrides"], out=out, pcap=o["pcap"], flows=o["flows"],
                          rate=o["rate"], network=o["network"], run_name=o["name"])


def cmd_soak(args: argparse.Namespace) -> int:
    from testbed.runtime.net import Interrupted, install_signal_handlers
    from testbed.trials import scenario, soak
    if bool(args.scenario) == bool(args.resume):
        raise TestbedError("soak wants a scenario (testbed soak SCENARIO --trials N) or --resume DIR, one of the two.")
    check_probe(args.flows, args.rate)
    con = console()

    def say(line: str) -> None:
        con.print(line, highlight=False)
    try:
        if args.resume:
            run_dir = Path(args.resume)
            preflight.check(vpn=True)
            install_signal_handlers()
            name = args.name
            out, result = soak.resume(run_dir, lambda o: _run_options({**o, "name": name or o["name"]}, run_dir), say)
        else:
            sc = scenario.load(args.scenario)
            options = {"trials": args.trials, "overrides": overrides(args), "pcap": args.pcap, "flows": args.flows,
                       "rate": args.rate, "network": args.network, "name": args.name or f"soak{os.getpid() % 100000}"}
            th = Thresholds(rss_pct=args.rss_growth, fds=args.fd_growth, count=args.count_growth, blocks=args.leak_blocks)
            with out_dir(args.out) as root:
                preflight.check(vpn=True)
                install_signal_handlers()
                out, result = soak.start(sc, _run_options(options, root),
                                         soak.SoakOptions(args.every, th, args.settle, args.max_flaps), options, say)
    except (Interrupted, KeyboardInterrupt):
        print("interrupted: the trials that ended are on disk; go on with 'testbed soak --resume DIR'", file=sys.stderr)
        return 130
    for line in soak.summary_lines(result, out):
        say(line)
    say(f"results in {out.dir}")
    return 0 if result.held and all(t.ok for t in out.trials) else 1


def register(sub) -> None:
    sp = sub.add_parser("soak", help="one scenario for many trials, unattended: health lines, leaks, flaps, a verdict")
    sp.add_argument("scenario", nargs="?", help="scenario name ('testbed list')")
    sp.add_argument("--trials", type=at_least_one, default=1000, help="trials to run (default %(default)s)")
    sp.add_argument("--every", type=at_least_one, default=50, metavar="N",
                    help="trials per block: a health line after each (default %(default)s)")
    sp.add_argument("--resume", metavar="DIR",
                    help="go on with the soak in this run directory (its own options; --name may change the run name)")
    d = Thresholds()
    sp.add_argument("--rss-growth", type=float, default=d.rss_pct, metavar="PCT",
                    help="a daemon leaks when its RSS grew in each of --leak-blocks blocks by this much in all "
                         "(default %(default)g %%)")
    sp.add_argument("--fd-growth", type=int, default=d.fds, metavar="N",
                    help="a daemon leaks fds when they grew in each of --leak-blocks blocks by N in all (default %(default)s)")
    sp.add_argument("--count-growth", type=int, default=d.count, metavar="N",
                    help="the run's processes, nft tables or files leak when they grew by N over the blocks "
                         "(default %(default)s)")
    sp.add_argument("--leak-blocks", type=at_least_one, default=d.blocks, metavar="N",
                    help="blocks in a row a growth must last to be a leak (default %(default)s)")
    sp.add_argument("--max-flaps", type=int, default=0, metavar="N",
                    help="BFD/BGP downs outside fault windows tolerated before the soak stops (default %(default)s)")
    sp.add_argument("--settle", type=float, default=1.0, metavar="S",
                    help="seconds after the network is back at its baseline still counted as the fault's "
                         "(default %(default)g)")
    add_trial_opts(sp)
    sp.set_defaults(func=cmd_soak)
