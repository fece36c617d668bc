"""One event type for everything the measurement sees, on one clock (CLOCK_MONOTONIC, ns)."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


def now_ns() -> int:
    """The testbed's single clock: monotonic, shared by every namespace on the host."""
    return time.monotonic_ns()


@dataclass(frozen=True)
class Event:
    t_ns: int          # CLOCK_MONOTONIC nanoseconds
    source: str        # "fault", "fib", "bgp", "bfd", "probe", ...
    node: str          # where it was seen
    kind: str          # e.g. "inject", "restore", "route-del", "bfd-down", "update", "withdraw"
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
