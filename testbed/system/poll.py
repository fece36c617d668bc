"""The one polling loop, after FRR topotests' ``run_and_expect``: call a check until it reports
nothing wrong or a deadline passes, and keep the last thing it saw wrong for the message.

A check takes no argument and returns what is still wrong: a list of readable lines, a diff
string (``testbed.observe.checks.json_cmp``), or an empty list / None when all is well.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from testbed.errors import TestbedError

Problems = list[str]
Check = Callable[[], Union[Problems, str, None]]


def as_lines(result: Problems | str | None) -> Problems:
    if not result:
        return []
    return result.splitlines() if isinstance(result, str) else list(result)


@dataclass
class Outcome:
    ok: bool
    elapsed_s: float
    problems: Problems = field(default_factory=list)   # the check's last answer (empty when ok)


def poll(check: Check, within: float, interval: float = 0.1) -> Outcome:
    """Call ``check`` every ``interval`` s until it holds or ``within`` s have passed."""
    t0 = time.monotonic()
    while True:
        problems = as_lines(check())
        elapsed = time.monotonic() - t0
        if not problems or elapsed >= within:
            return Outcome(not problems, elapsed, problems)
        time.sleep(interval)


class StillWrong(TestbedError):
    """A poll gave up: the message says what was awaited and what was seen last."""

    def __init__(self, what: str, within: float, problems: Problems) -> None:
        head = f"{what}: " if what else ""
        super().__init__(f"{head}still wrong after {within:g} s:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


def until(check: Check, within: float, interval: float = 0.1, what: str = "",
          error: type[StillWrong] = StillWrong) -> float:
    """``poll`` that raises ``error`` (with the last problems) unless the check held; the
    seconds it took."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this loop
    out = poll(check, within, interval)
    if not out.ok:
        raise error(what, within, out.problems)
    return out.elapsed_s


class Steady:
    """A check that holds once ``read()`` has returned the same value for ``for_s`` seconds
    (FIBs that stopped changing, sessions that stay up)."""

    def __init__(self, read: Callable[[], Any], for_s: float, what: str) -> None:
        self.read, self.for_s, self.what = read, for_s, what
        self.last: Any = None
        self.since = 0.0
        self.seen = False

    def __call__(self) -> Problems:
        value, now = self.read(), time.monotonic()
        if not self.seen or value != self.last:
            self.last, self.since, self.seen = value, now, True
        if now - self.since < self.for_s:
            return [f"{self.what} changed less than {self.for_s:g} s ago"]
        return []


def seconds_until(predicate: Callable[[], bool], within: float, interval: float = 0.1) -> float | None:
    """Seconds until ``predicate()`` is true, or None when it was not within ``within``."""
    out = poll(lambda: [] if predicate() else ["not yet"], within, interval)
    return out.elapsed_s if out.ok else None
