"""The benchmark command."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from testbed.system import preflight
from testbed.ui.common import console, out_dir


def cmd_bench(args: argparse.Namespace) -> int:
    from testbed.bench import report as bench_report
    from testbed.bench import run as bench
    from testbed.runtime.net import Interrupted, install_signal_handlers
    con = console()
    say = (lambda msg: None) if args.json else (lambda msg: con.print(msg, style="dim"))
    out = Path(args.out or f"results/bench/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    try:
        with out_dir(out):
            preflight.check(vpn=True)
            install_signal_handlers()  # Ctrl-C/SIGTERM unwind through every network's clean-up
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


def register(sub) -> None:
    sp = sub.add_parser("bench", help="benchmarks: bring-up, trial cycle, FIB at scale, probe CPU, memory, chain size")
    sp.add_argument("--quick", action="store_true", help="fewer repetitions, 1,000 prefixes, chain up to 16 (< 2 min)")
    sp.add_argument("--json", action="store_true", help="print bench.json instead of the table")
    sp.add_argument("--out", metavar="DIR", help="where bench.json goes (default results/bench/<UTC time>)")
    sp.set_defaults(func=cmd_bench)
