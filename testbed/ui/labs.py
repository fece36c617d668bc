"""The training-lab commands: lab list, start, check, solve, reset."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from testbed.system import preflight
from testbed.ui.common import add_lab_run_opts, console, shown
from testbed.ui.tables import print_status


def cmd_lab_list(args: argparse.Namespace) -> int:
    from testbed.labs import lab as labs
    found = [labs.load(name) for name in labs.names()]
    width = max((len(lab.title) for lab in found), default=0)
    for lab in found:
        print(f"  {lab.number:2}  {lab.title:{width}}  {lab.topology:13} {shown(lab.dir / 'README.md')}")
    return 0


def cmd_lab_start(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.labs import lab as labs
    lab = labs.load(args.lab)
    from testbed.observe import status
    from testbed.runtime.net import Network
    print(f"Starting lab {lab.number}: {lab.title} ({lab.topology} topology, run {args.name!r})...", flush=True)
    labs.start(lab, args.name)
    print_status(status.collect(Network.attach(args.name)))
    print(labs.intro(lab, args.name))
    return 0


def cmd_lab_check(args: argparse.Namespace) -> int:
    preflight.require_root()
    from testbed.labs import lab as labs
    from testbed.runtime.net import Network
    lab = labs.running(args.name)
    results = labs.check(lab, Network.attach(args.name))
    if args.junit:
        from testbed.results import junit
        junit.write(Path(args.junit), [labs.junit_suite(lab, results)])
    if args.json:
        print(json.dumps(labs.as_json(lab, results), indent=2))
    else:
        con = console()
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


def register(sub) -> None:
    sp = sub.add_parser("lab", help="training labs: list, start N, check, solve, reset")
    lab = sp.add_subparsers(dest="lab_cmd", required=True, metavar="ACTION")
    lab.add_parser("list", help="the labs, in order of difficulty").set_defaults(func=cmd_lab_list)
    sp = lab.add_parser("start", help="start lab N from its starting configs (stops a lab already up)")
    sp.add_argument("lab", help="lab number or folder name ('testbed lab list')")
    add_lab_run_opts(sp)
    sp.set_defaults(func=cmd_lab_start)
    sp = lab.add_parser("check", help="check each task: pass, or fail with a hint (exit 0 only if all pass)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--junit", metavar="FILE", help="also write the tasks as JUnit XML (a test case per task)")
    add_lab_run_opts(sp)
    sp.set_defaults(func=cmd_lab_check)
    sp = lab.add_parser("solve", help="apply the reference solution to the running lab (for instructors)")
    add_lab_run_opts(sp)
    sp.set_defaults(func=cmd_lab_solve)
    sp = lab.add_parser("reset", help="start the running lab again from its starting configs")
    add_lab_run_opts(sp)
    sp.set_defaults(func=cmd_lab_reset)
