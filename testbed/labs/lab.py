"""Training labs: a broken or unfinished network, tasks that check it, a reference solution.

A lab is a folder ``labs/NN-name/``:

- ``README.md``: the goal, the topology, the tasks and hints, for the trainee;
- ``lab.py``: ``LAB = Lab(...)``: title, topology, parameters and the tasks with their checks;
- ``start/NODE.conf``: the whole ``frr.conf`` router NODE starts with (broken or unfinished on
  purpose, so it runs unchecked); every other router runs the testbed's own rendered config;
- ``solution/NODE.vtysh``: the reference solution, as the commands a trainee would type in
  ``configure terminal`` on NODE; ``solve`` feeds them to the running daemons (``vtysh -f``).

A lab runs as an ordinary testbed run, named ``lab`` unless told otherwise (not the default run
``tb``, which a user may have up for other work), brought up by ``testbed up --no-wait
--config-as-is``: it must come up without converging. A marker file in the run directory says
which lab it is.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rich.markup import escape

from testbed.daemons.byoconfig import with_logfile
from testbed.errors import TestbedError
from testbed.model import content
from testbed.observe import peers
from testbed.results import junit
from testbed.runtime import state
from testbed.system.poll import Steady, poll

if TYPE_CHECKING:
    from testbed.runtime.net import Network

LABS_DIR = content.labs_dir()
MARKER = "lab.json"
LAB_RUN = "lab"          # the run name lab commands use by default
WIDTH, INDENT = 100, 8  # the check's report: wrapped to fit a terminal, under its task
Check = Callable[["Network"], list[str]]


@dataclass
class Task:
    """One thing the trainee must get right: ``check`` returns what is still wrong (empty: done)."""

    title: str
    check: Check
    hint: str


@dataclass
class Lab:
    title: str
    topology: str
    tasks: list[Task]
    params: dict[str, Any] = field(default_factory=dict)
    dir: Path = Path()            # set by ``load``

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def number(self) -> int:
        return int(self.name.split("-", 1)[0])

    def start_configs(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted((self.dir / "start").glob("*.conf"))}

    def solutions(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted((self.dir / "solution").glob("*.vtysh"))}


@dataclass
class Result:
    task: Task
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


# --- finding labs -----------------------------------------------------------------------------
def names() -> list[str]:
    return sorted(d.name for d in LABS_DIR.iterdir() if (d / "lab.py").is_file()) if LABS_DIR.is_dir() else []


def load(ref: str) -> Lab:
    """A lab by number (``3``, ``03``) or folder name (``03-bfd``)."""
    found = [n for n in names() if n == ref or (ref.isdigit() and int(n.split("-", 1)[0]) == int(ref))]
    if not found:
        raise TestbedError(f"no lab {ref!r}: choose one of {', '.join(names())} ('testbed lab list').")
    d = LABS_DIR / found[0]
    spec = importlib.util.spec_from_file_location(f"lab_{d.name.replace('-', '_')}", d / "lab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lab: Lab = module.LAB
    lab.dir = d
    return lab


def running(run: str) -> Lab:
    """The lab that the live run ``run`` is."""
    st = state.require_running(run, start="testbed lab start N")
    marker = state.run_dir(run) / MARKER
    if not marker.is_file():
        raise TestbedError(f"run {run!r} ({st.get('topology')}) is not a lab: start one with 'testbed lab start N'.")
    return load(json.loads(marker.read_text())["lab"])


# --- running one ------------------------------------------------------------------------------
def start(lab: Lab, run: str) -> None:
    """Bring the lab up with its starting configs (a lab already up under ``run`` is stopped
    first) and wait until its broken network has settled."""
    from testbed.runtime.clean import clean_run
    from testbed.runtime.net import Network
    st = state.read(run)
    if st and state.owner_alive(st):
        if not (state.run_dir(run) / MARKER).is_file():
            raise TestbedError(f"run {run!r} is up and is not a lab ({st.get('topology')}): stop it with "
                               f"'testbed down --name {run}' or start the lab under another name with --name.")
        clean_run(run)
    tmp = state.make_scratch(run)
    try:
        argv = [sys.executable, "-m", "testbed.ui.cli", "up", lab.topology, "-d", "--no-wait", "--config-as-is",
                "--name", run, *[f"--set={k}={v}" for k, v in lab.params.items()]]
        for node, src in lab.start_configs().items():
            conf = tmp / f"{node}.conf"
            conf.write_text(with_logfile(src.read_text(), str(state.run_dir(run) / node / "frr.log")))
            argv += ["--config", f"{node}={conf}"]
        res = subprocess.run(argv, capture_output=True, text=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if res.returncode != 0:
        raise TestbedError(res.stderr.strip().removeprefix("testbed: ") or f"'testbed up' failed ({res.returncode}).")
    (state.run_dir(run) / MARKER).write_text(json.dumps({"lab": lab.name}) + "\n")
    settle(Network.attach(run))


def settle(net: "Network", quiet_s: float = 3.0, within_s: float = 15.0) -> None:
    """Wait until the same BGP sessions have been Established for ``quiet_s`` (at most
    ``within_s``): what the trainee then sees is the lab's fault, not the start-up."""
    def established() -> set[tuple[str, str]]:
        up = set()
        for name, r in net.topo.routers.items():
            seen = peers.bgp(net, name) if r.neighbors else {}
            up |= {(name, n.addr) for n in r.neighbors if seen.get(n.addr, {}).get("state") == "Established"}
        return up

    poll(Steady(established, quiet_s, "the established BGP sessions"), within_s, 0.5)


def check(lab: Lab, net: "Network") -> list[Result]:
    results = []
    for task in lab.tasks:
        try:
            problems = task.check(net)
        except TestbedError as e:
            problems = [str(e)]
        results.append(Result(task, problems))
    return results


def solve(lab: Lab, net: "Network") -> list[str]:
    """Apply the reference solution to the running routers; the routers it changed."""
    for node, path in lab.solutions().items():
        try:
            net.frr[node].apply(path.read_text())
        except TestbedError as e:
            raise TestbedError(f"the reference solution for {node} did not apply ({e}) - after changes of your "
                               "own, run 'testbed lab reset' first.") from e
    return list(lab.solutions())


def reset(run: str) -> Lab:
    """Start the running lab again from its starting configs."""
    lab = running(run)
    start(lab, run)
    return lab


# --- telling the trainee ----------------------------------------------------------------------
def intro(lab: Lab, run: str) -> str:
    """What to do once the lab is up."""
    name = "" if run == state.DEFAULT_RUN else f" --name {run}"      # for vtysh, exec, graph, down
    lab_name = "" if run == LAB_RUN else f" --name {run}"             # for the lab commands
    routers = ", ".join(lab.start_configs())
    first = next(iter(lab.start_configs()), "ce1")
    return (f"Lab {lab.number} is up: {lab.title}.\n"
            f"  Read    {lab.dir / 'README.md'}\n"
            f"  Look    testbed graph{name}   (BGP sessions: red until they are up)\n"
            f"  Fix     {routers}: testbed vtysh {first}{name}   (any command: testbed exec NODE{name} -- CMD)\n"
            f"  Check   testbed lab check{lab_name}\n"
            f"  Again   testbed lab reset{lab_name}   Stop: testbed down{name}")


def report(lab: Lab, results: list[Result]) -> list[str]:
    """The check's outcome as lines with rich markup: each task pass/fail, problems and hint."""
    def wrapped(text: str, first: str, style: str) -> list[str]:
        body = textwrap.wrap(text, WIDTH - INDENT, initial_indent=" " * len(first), subsequent_indent=" " * INDENT,
                             break_on_hyphens=False)
        return [" " * INDENT + f"[{style}]{first}[/]" + escape(body[0][len(first):])] + [escape(l) for l in body[1:]]

    lines = [f"[bold]Lab {lab.number}: {escape(lab.title)}[/]"]
    for i, r in enumerate(results, start=1):
        lines.append(f"  {'[green]PASS[/]' if r.ok else '[red]FAIL[/]'}  {i}. {escape(r.task.title)}")
        for p in r.problems:
            lines += wrapped(p, "- ", "red")
        if not r.ok:
            lines += wrapped(r.task.hint, "hint: ", "yellow")
    done = sum(r.ok for r in results)
    lines.append(f"{done} of {len(results)} tasks done." + (" Well done!" if done == len(results) else ""))
    return lines


def as_json(lab: Lab, results: list[Result]) -> dict[str, Any]:
    return {"lab": lab.name, "title": lab.title, "ok": all(r.ok for r in results),
            "tasks": [{"title": r.task.title, "ok": r.ok, "problems": r.problems, "hint": r.task.hint}
                      for r in results]}


def junit_suite(lab: Lab, results: list[Result]) -> junit.Suite:
    """The check as a JUnit suite: a case per task, its problems and hint as the failure."""
    cases = [junit.Case(f"{i}. {r.task.title}", f"testbed.lab.{lab.name}",
                        None if r.ok else "; ".join(r.problems),
                        "\n".join(r.problems + [f"hint: {r.task.hint}"]))
             for i, r in enumerate(results, start=1)]
    return junit.Suite(f"lab {lab.number}: {lab.title}", cases, {"topology": lab.topology})
