"""What the command groups share: parameter and run options, the console, paths as shown."""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from testbed.errors import TestbedError
from testbed.model import params as params_mod
from testbed.runtime import state


def overrides(args: argparse.Namespace) -> dict:
    """The parameters a command line sets: ``--params FILE`` first, then each ``--set K=V``."""
    out: dict = {}
    if getattr(args, "params", None):
        out.update(params_mod.load_file(args.params))
    out.update(params_mod.parse_sets(getattr(args, "set", None) or []))
    return out


@contextmanager
def out_dir(path: str | Path) -> Iterator[Path]:
    """A results directory given on the command line: made now, so that a path that cannot be
    written fails before anything starts, and removed again if the command fails before
    writing into it (nothing left behind)."""
    out = Path(path)
    made = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TestbedError(f"cannot make the results directory {out} ({e.strerror}): give --out a directory you can write.") from e
    try:
        yield out
    except BaseException:
        for d in made:
            try:
                d.rmdir()  # only while empty: results already written stay
            except OSError:
                break
        raise


def at_least_one(text: str) -> int:
    """A count option (``--trials``): a whole number, 1 or more."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"wants a whole number of at least 1, not {text!r}")
    return n


def console():
    from rich.console import Console
    return Console(width=None if sys.stdout.isatty() else 160)


def shown(path: Path) -> str:
    """A path as short as it reads: relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def add_run_opts(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--name", default=state.DEFAULT_RUN, type=state.check_run_name,
                    help=f"run name, so several runs can coexist (default {state.DEFAULT_RUN})")


def add_lab_run_opts(sp: argparse.ArgumentParser) -> None:
    from testbed.labs.lab import LAB_RUN
    sp.add_argument("--name", default=LAB_RUN, type=state.check_run_name,
                    help=f"the lab's run name (default {LAB_RUN})")


def add_param_opts(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--set", action="append", metavar="K=V", help="override a parameter ('testbed params')")
    sp.add_argument("--params", metavar="FILE", help="a params file (TOML or JSON)")


def add_topo_opts(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("topology", help="topology name ('testbed list')")
    add_param_opts(sp)
    sp.add_argument("--config", action="append", metavar="NODE=FILE", help="use your own frr.conf on a router")
    sp.add_argument("--config-as-is", action="store_true",
                    help="run the --config files unchecked, as they are (a lab's starting configs are wrong on purpose)")
    sp.add_argument("--no-wait", action="store_true",
                    help="do not wait for convergence, only for the daemons (a lab starts broken on purpose)")
    add_run_opts(sp)
