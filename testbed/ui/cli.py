"""The ``testbed`` command: thin, it only parses arguments and calls the library.

Each command group lives in a module of its own (``runs``, ``scenarios``, ``topologies``,
``bench``, ``labs``) that registers its subcommands here.
"""
from __future__ import annotations

import argparse
import os
import sys

from testbed.errors import TestbedError
from testbed.ui import bench, labs, runs, scenarios, topologies


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="testbed", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for group in (runs, scenarios, topologies, bench, labs):
        group.register(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except TestbedError as e:
        print(f"testbed: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (testbed params | head): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
