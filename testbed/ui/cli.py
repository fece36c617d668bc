"""The ``testbed`` command: thin, it only parses arguments and calls the library.

Each command group lives in a module of its own (``runs``, ``scenarios``, ``topologies``,
``bench``, ``labs``) that registers its subcommands here.

Whatever goes wrong ends in one line on stderr and exit code 1: a ``TestbedError`` as it is
(it names the problem and the fix), a bad argument as argparse words it, and any other exception
as a bug, whose traceback goes to a log file that line names (never to the terminal).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import NoReturn

from testbed.errors import TestbedError
from testbed.runtime import state
from testbed.ui import bench, labs, runs, scenarios, soak, topologies


class Parser(argparse.ArgumentParser):
    """argparse, with a bad argument reported as one sentence (not usage plus a line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise TestbedError(f"{message}: see '{self.prog} --help'.")


def parser() -> argparse.ArgumentParser:
    ap = Parser(prog="testbed", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for group in (runs, scenarios, soak, topologies, bench, labs):
        group.register(sub)
    return ap


def crash_log(args: argparse.Namespace | None) -> Path:
    """Where an unexpected exception's traceback goes: the run's directory when it still
    exists (``--name``), else the temporary directory."""
    run = getattr(args, "name", None)
    where = state.run_dir(run) if run and state.run_dir(run).is_dir() else Path(tempfile.gettempdir())
    return where / f"testbed-bug-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"


def report_bug(e: BaseException, args: argparse.Namespace | None, argv: list[str]) -> None:
    """One line naming the exception and the log holding its traceback."""
    log = crash_log(args)
    what = " ".join(f"{type(e).__name__}: {e}".split())[:200]
    try:
        log.write_text(f"testbed {' '.join(argv)}\n\n{''.join(traceback.format_exception(e))}")
        where = f"the traceback is in {log}"
    except OSError as werr:
        where = f"and its traceback could not be written to {log} ({werr.strerror})"
    print(f"testbed: internal error ({what}), a testbed bug: please report it; {where}.", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = None
    try:
        args = parser().parse_args(argv)
        return args.func(args) or 0
    except TestbedError as e:
        print(f"testbed: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (testbed params | head): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - a bug: one line for the user, the traceback in a log
        report_bug(e, args, argv)
        return 1


if __name__ == "__main__":
    sys.exit(main())
