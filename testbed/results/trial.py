"""Trial results: the figures of one trial and their statistics (the files: ``store``).

Phases of a trial, cut at the instants the fault was issued: *baseline* (before the fault),
*fault* (from inject to restore: the failover) and *restore* (from restore on: the failback).
A gap belongs to the phase in which its last good packet was sent (with a tolerance of one
probe interval plus 1 ms, so a packet sent while the fault was being applied still counts as
the fault's).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from testbed.measure.outage import DirectionResult, Gap, percentile
from testbed.model.events import Event

PHASES = ("baseline", "fault", "restore")
PATH_WINDOWS = ("before", "during", "after")


# --- one trial -------------------------------------------------------------------------------
@dataclass
class FlowFigures:
    flow: int
    outage_ms: float            # fault phase: longest gap (RFC 6414 timestamp method)
    loss_ms: float              # fault phase: lost packets x interval
    restore_outage_ms: float
    restore_loss_ms: float
    baseline_lost: int
    recovered: bool             # its fault-phase gap closed before the restore
    paths: dict[str, str | None] = field(default_factory=dict)   # before/during/after
    outage_span_ns: tuple[int, int] | None = None          # last good, first good again
    restore_span_ns: tuple[int, int] | None = None


def _pair(v: Any) -> tuple[int, int] | None:
    return tuple(v) if v else None  # JSON turns tuples into lists


class _Worst:
    """Outage and loss figures of a whole as the worst of its parts (the flows of a direction,
    the directions of a trial)."""

    def _parts(self) -> list[Any]:
        raise NotImplementedError

    def _max(self, attr: str) -> float:
        return max((getattr(x, attr) for x in self._parts()), default=0.0)

    @property
    def outage_ms(self) -> float:
        return self._max("outage_ms")

    @property
    def loss_ms(self) -> float:
        return self._max("loss_ms")

    @property
    def restore_outage_ms(self) -> float:
        return self._max("restore_outage_ms")

    @property
    def restore_loss_ms(self) -> float:
        return self._max("restore_loss_ms")


@dataclass
class DirectionFigures(_Worst):
    direction: str
    resolution_ms: float
    flows: list[FlowFigures]

    def _parts(self) -> list[FlowFigures]:
        return self.flows

    def paths(self, window: str) -> list[str]:
        """Paths the flows took in a window (sorted, without repeats)."""
        return sorted({p for f in self.flows if (p := f.paths.get(window))})

    def to_dict(self) -> dict[str, Any]:
        return {"direction": self.direction, "resolution_ms": self.resolution_ms,
                "outage_ms": self.outage_ms, "loss_ms": self.loss_ms,
                "restore_outage_ms": self.restore_outage_ms, "restore_loss_ms": self.restore_loss_ms,
                "paths": {w: self.paths(w) for w in PATH_WINDOWS},
                "flows": [asdict(f) for f in self.flows]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DirectionFigures":
        return cls(d["direction"], d["resolution_ms"],
                   [FlowFigures(**{**f, "outage_span_ns": _pair(f.get("outage_span_ns")),
                                   "restore_span_ns": _pair(f.get("restore_span_ns"))}) for f in d["flows"]])


@dataclass
class Trial(_Worst):
    scenario: str
    index: int
    started_utc: str
    inject_ns: int | None = None        # when the fault was issued (the trial's time zero)
    restore_ns: int | None = None       # when its undoing was issued
    directions: dict[str, DirectionFigures] = field(default_factory=dict)
    settled_ms: float | None = None     # fault -> network settled (control-plane poll)
    restored_ms: float | None = None    # restore -> network back to baseline (poll)
    restored: bool = False
    timings: dict[str, float | None] = field(default_factory=dict)   # detection/bgp/fib (ms)
    events: list[Event] = field(default_factory=list)
    traffic: dict[str, Any] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)
    ok: bool | None = None
    reason: str = ""
    error: str | None = None

    def _parts(self) -> list[DirectionFigures]:
        return list(self.directions.values())

    def flows_on(self, path: str, window: str) -> list[tuple[str, int]]:
        return [(d.direction, f.flow) for d in self.directions.values() for f in d.flows
                if f.paths.get(window) == path]

    def rel_ms(self, t_ns: int) -> float | None:
        """An instant relative to the fault's issue, in ms."""
        return None if self.inject_ns is None else round((t_ns - self.inject_ns) / 1e6, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "trial": self.index, "started_utc": self.started_utc,
            "ok": self.ok, "reason": self.reason, "error": self.error,
            "outage_ms": self.outage_ms, "loss_ms": self.loss_ms,
            "restore_outage_ms": self.restore_outage_ms, "restore_loss_ms": self.restore_loss_ms,
            "settled_ms": self.settled_ms, "restored_ms": self.restored_ms, "restored": self.restored,
            "timings": self.timings, "inject_ns": self.inject_ns, "restore_ns": self.restore_ns,
            "directions": {k: d.to_dict() for k, d in self.directions.items()},
            "events": [{**e.to_dict(), "t_ms": self.rel_ms(e.t_ns)} for e in self.events],
            "traffic": self.traffic, "probe": self.probe,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Trial":
        return cls(
            scenario=d["scenario"], index=d["trial"], started_utc=d["started_utc"],
            inject_ns=d.get("inject_ns"), restore_ns=d.get("restore_ns"),
            directions={k: DirectionFigures.from_dict(v) for k, v in d.get("directions", {}).items()},
            settled_ms=d.get("settled_ms"), restored_ms=d.get("restored_ms"),
            restored=d.get("restored", False), timings=d.get("timings", {}),
            events=[Event(e["t_ns"], e["source"], e["node"], e["kind"], e.get("detail", {}))
                    for e in d.get("events", [])],
            traffic=d.get("traffic", {}), probe=d.get("probe", {}),
            ok=d.get("ok"), reason=d.get("reason", ""), error=d.get("error"))


# --- from measurements to figures (pure) -----------------------------------------------------
def phase_of(gap: Gap, inject_ns: int, restore_ns: int, tol_ns: int) -> str:
    """A gap that closed before the fault was issued is the baseline's; one that began before
    the restore was issued (less ``tol_ns``: a packet interval and the time in flight) is the
    fault's; the rest are the restore's. Packets in flight when a fault hits are lost though
    sent before it: over userspace ESP the last good packet can precede the fault by several
    ms, so a gap is placed by where it ends, not where it starts."""
    if gap.start_ns is None or (gap.end_ns is not None and gap.end_ns <= inject_ns):
        return "baseline"
    return "fault" if gap.start_ns < restore_ns - tol_ns else "restore"


def _span(g: Gap | None) -> tuple[int, int] | None:
    return None if g is None or g.start_ns is None or g.end_ns is None else (g.start_ns, g.end_ns)


def direction_figures(d: DirectionResult, inject_ns: int, restore_ns: int,
                      paths: Mapping[int, Mapping[str, str | None]]) -> DirectionFigures:
    """Per flow, the longest gap and the loss of each phase; ``paths[flow]`` its paths."""
    flows = []
    for f in d.flows:
        tol = d.interval_ns + 1_000_000 + int((f.latency_p99_ms or 0.0) * 1e6)
        by: dict[str, list[Gap]] = {p: [] for p in PHASES}
        for g in f.gaps:
            by[phase_of(g, inject_ns, restore_ns, tol)].append(g)
        fault = max(by["fault"], key=lambda g: g.duration_ns, default=None)
        back = max(by["restore"], key=lambda g: g.duration_ns, default=None)
        flows.append(FlowFigures(
            flow=f.flow,
            outage_ms=round(fault.duration_ms, 3) if fault else 0.0,
            loss_ms=round(sum(g.loss_ms for g in by["fault"]), 3),
            restore_outage_ms=round(back.duration_ms, 3) if back else 0.0,
            restore_loss_ms=round(sum(g.loss_ms for g in by["restore"]), 3),
            baseline_lost=sum(g.lost for g in by["baseline"]),
            recovered=fault is None or (fault.end_ns is not None and not fault.censored
                                        and fault.end_ns < restore_ns),
            paths=dict(paths.get(f.flow, {})),
            outage_span_ns=_span(fault), restore_span_ns=_span(back),
        ))
    return DirectionFigures(d.direction, d.resolution_ms, flows)


def first_after(events: Iterable[Event], t_ns: int, source: str, kinds: tuple[str, ...] = ()) -> Event | None:
    """The first event of ``source`` at or after ``t_ns`` whose kind contains one of ``kinds``."""
    for e in sorted(events, key=lambda e: e.t_ns):
        if e.t_ns >= t_ns and e.source == source and (not kinds or any(k in e.kind for k in kinds)):
            return e
    return None


def timings(events: list[Event], inject: Event, restore_ns: int, prefixes: Iterable[str]) -> dict[str, float | None]:
    """Control-plane instants after the fault, in ms from the instant it was issued (None when
    no watcher saw them): ``detection`` (the first of a BFD session down, a BGP session down or
    a link losing carrier), ``bgp`` (first BGP reaction: a session down, a NOTIFICATION or a
    withdraw), ``fib`` (first FIB change of an expected prefix) and ``fib_last`` (the last one
    before the restore). From the issue, not from the fault's own stamp: a watcher may see a
    link go down before that stamp, and a slow fault (4,000 prefixes through vtysh) takes
    effect while it is still being applied. The outage is cut at the same instant."""
    since = inject.detail.get("issued_ns", inject.t_ns)

    def ms(e: Event | None) -> float | None:
        return None if e is None or e.t_ns >= restore_ns else round((e.t_ns - since) / 1e6, 3)

    wanted = set(prefixes)
    fib = [e for e in events if e.source == "fib" and since <= e.t_ns < restore_ns
           and e.kind.startswith("route-") and e.detail.get("prefix") in wanted]
    seen = [first_after(events, since, "bfd", ("down",)), first_after(events, since, "bgp", ("adj-down",)),
            first_after(events, since, "fib", ("link-down",))]
    return {"detection_ms": ms(min((e for e in seen if e), key=lambda e: e.t_ns, default=None)),
            "bgp_ms": ms(first_after(events, since, "bgp", ("down", "notification", "withdraw"))),
            "fib_ms": ms(min(fib, key=lambda e: e.t_ns, default=None)),
            "fib_last_ms": ms(max(fib, key=lambda e: e.t_ns, default=None))}


# --- statistics ------------------------------------------------------------------------------
def stats(values: Iterable[float | None]) -> dict[str, float | int | None]:
    """n, min, p50, p95, max, mean, stdev (sample) of the known values."""
    v = sorted(x for x in values if x is not None and not math.isnan(x))
    if not v:
        return {"n": 0, "min": None, "p50": None, "p95": None, "max": None, "mean": None, "stdev": None}
    return {"n": len(v), "min": v[0], "p50": round(percentile(v, 50), 3), "p95": round(percentile(v, 95), 3),
            "max": v[-1], "mean": round(statistics.fmean(v), 3),
            "stdev": round(statistics.stdev(v), 3) if len(v) > 1 else 0.0}


METRICS = ("outage_ms", "restore_outage_ms", "loss_ms", "detection_ms", "fib_ms", "settled_ms", "restored_ms",
           "probe_lateness_p99_us", "load_1min")


def trial_row(t: Trial) -> dict[str, Any]:
    """The flat figures of one trial (summary.json's trial list, trials.csv)."""
    row: dict[str, Any] = {"trial": t.index, "ok": t.ok, "outage_ms": t.outage_ms,
                           "restore_outage_ms": t.restore_outage_ms, "loss_ms": t.loss_ms,
                           "restore_loss_ms": t.restore_loss_ms}
    for name, d in t.directions.items():
        row[f"{name} outage_ms"] = d.outage_ms
        row[f"{name} restore_outage_ms"] = d.restore_outage_ms
        for w in PATH_WINDOWS:
            row[f"{name} paths {w}"] = "+".join(d.paths(w)) or "-"
    row.update({k: t.timings.get(k) for k in ("detection_ms", "bgp_ms", "fib_ms", "fib_last_ms")})
    row.update(settled_ms=t.settled_ms, restored_ms=t.restored_ms, restored=t.restored,
               reason=t.error or t.reason)
    # how busy the machine was: probe send lateness and the load average when the trial ended
    late = [p["lateness_us"].get("p99_us") for p in t.probe.values() if isinstance(p, dict) and "lateness_us" in p]
    row["probe_lateness_p99_us"] = max((x for x in late if x is not None), default=None)
    row["load_1min"] = (t.probe.get("load") or {}).get("after", [None])[0]
    return row


def summarize(trials: list[Trial]) -> dict[str, Any]:
    rows = [trial_row(t) for t in trials]
    keys = list(METRICS) + sorted({k for r in rows for k in r if k.endswith("outage_ms") and " " in k})
    return {"trials_done": len(trials), "passed": sum(1 for t in trials if t.ok),
            "ok": bool(trials) and all(t.ok for t in trials),
            "stats": {k: stats(r.get(k) for r in rows) for k in keys},
            "trials": rows}
