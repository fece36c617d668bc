"""One benchmark figure measured several times: every value with the load average it was taken
under (other work on the machine moves the figures), summarised as min / median / max."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Mapping

from testbed.system.procs import load_1min


@dataclass
class Series:
    unit: str
    values: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    def add(self, value: float | None, load: float | None = None) -> None:
        """Record one repetition (``None``, a repetition that measured nothing, is skipped)."""
        if value is None:
            return
        self.values.append(round(value, 4))
        self.loads.append(load_1min() if load is None else load)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def to_dict(self) -> dict[str, Any]:
        v = self.values
        return {"unit": self.unit, "n": len(v), "min": min(v, default=None), "median": self.median,
                "max": max(v, default=None), "values": v, "load_1min": self.loads}


def summaries(series: Mapping[str, Series]) -> dict[str, dict[str, Any]]:
    return {name: s.to_dict() for name, s in series.items()}
