"""Outage maths for the probe's records (pure functions; the only I/O is the loaders).

Definitions (docs/measurement.md#outage):

* **Gap** -- a run of consecutive lost sequence numbers in one flow and direction.  Its
  duration by the RFC 6414 timestamp method is ``send_ns(first good packet after) -
  send_ns(last good packet before)``; this is an upper bound: for an impairment window W
  and perfect pacing at interval I it lies in ``[W, W + 2I)`` and equals ``(lost + 1) * I``.
  The same gap expressed as ``lost * I`` (``loss_ms``) lies in ``(W - I, W + I)``.
  Every figure carries ``resolution_ms`` = I.
* **outage_ms** -- the longest gap of a flow (timestamp method); per direction the maximum
  over flows.
* **loss_time_ms** -- RFC 6412 loss-derived convergence time: packets lost / offered load
  (per flow: lost / rate; per direction: lost over all flows / (flows * rate)).  The RFC's
  recommended route-specific form is reported as min/max/median/mean over flows.
* **reordered** -- a (non-duplicate) packet whose sequence number is below one already
  received (RFC 4737 style); reordered packets are not lost.  **duplicates** -- copies of an
  already received sequence number.
* Loss at the start (before the first received packet) and at the end (after the last
  received one) is counted against the expected window ``[first_expected, last_expected]``
  (default ``[0, sent-1]``); such gaps are ``censored``: one edge was not observed, so the
  real outage may be longer, and their missing edge is estimated from the nominal schedule.
* Sequence numbers of width ``seq_bits`` wrap; they are unwrapped in arrival order against
  the highest sequence so far (half-range rule), anchored at ``first_expected``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from testbed.measure.records import Records, load_meta, load_records


# ---------------------------------------------------------------------------------------
# loading (the format and its readers are testbed.measure.records')
# ---------------------------------------------------------------------------------------
def load_probe(out_path: str, meta_path: str | None = None) -> tuple[Records, dict[str, Any]]:
    """Records and sidecar of one probe process (``--out`` and ``--meta``)."""
    return load_records(out_path), load_meta(meta_path or out_path + ".json")


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of an already sorted sequence."""
    n = len(sorted_values)
    if n == 0:
        return None
    if n == 1:
        return float(sorted_values[0])
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo))


def unwrap_seq(seqs: Iterable[int], bits: int = 64, anchor: int = 0) -> list[int]:
    """Unwrap sequence numbers of width ``bits`` (arrival order) into a monotonic space.

    Each number is placed at the candidate nearest (half-range rule) to the highest
    unwrapped number so far; the first one is placed nearest to ``anchor`` (the expected
    first sequence, 0 when the sender starts at 0).  With 64 bits nothing is changed.
    """
    seqs = list(seqs)
    if bits >= 64:
        return seqs
    mod = 1 << bits
    half = mod >> 1
    out: list[int] = []
    ref = anchor
    first = True
    for s in seqs:
        d = (s - ref) % mod
        u = ref + d if d < half else ref + d - mod
        out.append(u)
        if first or u > ref:
            ref = u
            first = False
    return out


def _ms(ns: float | None) -> float | None:
    return None if ns is None else round(ns / 1e6, 6)


def _interval(rate_pps: float | None, interval_ns: int | None) -> int:
    if interval_ns:
        return int(interval_ns)
    if not rate_pps:
        raise ValueError("need rate_pps or interval_ns")
    return int(round(1e9 / rate_pps))


# ---------------------------------------------------------------------------------------
# per flow
# ---------------------------------------------------------------------------------------
@dataclass
class Gap:
    """One run of consecutive lost packets in a flow."""

    kind: str  # "interior" | "start" | "end" | "all"
    first_lost_seq: int
    last_lost_seq: int
    lost: int
    last_good_seq: int | None  # None for a start gap
    first_good_seq: int | None  # None for an end gap
    start_ns: int | None  # send time of the last good packet before (estimated if censored)
    end_ns: int | None  # send time of the first good packet after (estimated if censored)
    interval_ns: int
    censored: bool = False  # an edge lies outside the observation: the outage may be longer

    @property
    def duration_ns(self) -> int:
        """RFC 6414 timestamp method: first good after - last good before."""
        if self.start_ns is not None and self.end_ns is not None:
            return self.end_ns - self.start_ns
        return (self.lost + 1) * self.interval_ns

    @property
    def duration_ms(self) -> float:
        return self.duration_ns / 1e6

    @property
    def loss_ms(self) -> float:
        """The same gap as lost packets x interval."""
        return self.lost * self.interval_ns / 1e6

    @property
    def resolution_ms(self) -> float:
        return self.interval_ns / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "first_lost_seq": self.first_lost_seq,
            "last_lost_seq": self.last_lost_seq,
            "lost": self.lost,
            "last_good_seq": self.last_good_seq,
            "first_good_seq": self.first_good_seq,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "duration_ms": round(self.duration_ms, 6),
            "loss_ms": round(self.loss_ms, 6),
            "resolution_ms": self.resolution_ms,
            "censored": self.censored,
        }


@dataclass
class FlowResult:
    flow: int
    direction: str
    interval_ns: int
    first_expected_seq: int
    last_expected_seq: int
    expected: int
    received: int  # unique packets inside the expected window
    lost: int
    duplicates: int
    reordered: int
    out_of_window: int  # unique packets outside [first_expected, last_expected]
    gaps: list[Gap]
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    latency_max_ms: float | None
    # the good packets in sequence order (for cross-flow maths); not serialized
    good_seq: list[int] = field(default_factory=list, repr=False)
    good_send_ns: list[int] = field(default_factory=list, repr=False)

    @property
    def rate_pps(self) -> float:
        return 1e9 / self.interval_ns

    @property
    def resolution_ms(self) -> float:
        return self.interval_ns / 1e6

    @property
    def longest_gap(self) -> Gap | None:
        return max(self.gaps, key=lambda g: (g.duration_ns, g.lost), default=None)

    @property
    def outage_ms(self) -> float:
        g = self.longest_gap
        return g.duration_ms if g else 0.0

    @property
    def outage_loss_ms(self) -> float:
        g = self.longest_gap
        return g.loss_ms if g else 0.0

    @property
    def outage_censored(self) -> bool:
        g = self.longest_gap
        return bool(g and g.censored)

    @property
    def loss_time_ms(self) -> float:
        """RFC 6412 loss-derived (route-specific) convergence time: lost / rate."""
        return self.lost * self.interval_ns / 1e6

    @property
    def loss_ratio(self) -> float:
        return self.lost / self.expected if self.expected else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "direction": self.direction,
            "rate_pps": self.rate_pps,
            "resolution_ms": self.resolution_ms,
            "first_expected_seq": self.first_expected_seq,
            "last_expected_seq": self.last_expected_seq,
            "expected": self.expected,
            "received": self.received,
            "lost": self.lost,
            "loss_ratio": round(self.loss_ratio, 9),
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "out_of_window": self.out_of_window,
            "outage_ms": round(self.outage_ms, 6),
            "outage_loss_ms": round(self.outage_loss_ms, 6),
            "outage_censored": self.outage_censored,
            "loss_time_ms": round(self.loss_time_ms, 6),
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p99_ms": self.latency_p99_ms,
            "latency_max_ms": self.latency_max_ms,
            "gaps": [g.to_dict() for g in self.gaps],
        }


def analyze_flow(
    seq: Sequence[int],
    send_ns: Sequence[int] | None = None,
    recv_ns: Sequence[int] | None = None,
    *,
    rate_pps: float | None = None,
    interval_ns: int | None = None,
    sent: int | None = None,
    first_expected: int = 0,
    last_expected: int | None = None,
    seq_bits: int = 64,
    flow: int = 0,
    direction: str = "",
) -> FlowResult:
    """Gaps, loss, reordering, duplicates and latency of one flow in one direction.

    ``seq``/``send_ns``/``recv_ns`` are the received packets in arrival order (``send_ns``
    defaults to the nominal ``seq * interval``; ``recv_ns`` may be omitted).  The expected
    window is ``[first_expected, last_expected]``; ``last_expected`` defaults to
    ``sent - 1`` (sender's count, sequence numbers from 0), else to the highest received
    sequence (then loss at the end cannot be seen).
    """
    I = _interval(rate_pps, interval_ns)
    useq = unwrap_seq(seq, seq_bits, anchor=first_expected)
    n = len(useq)
    if send_ns is None:
        send_ns = [u * I for u in useq]
    if last_expected is None:
        if sent is not None:
            last_expected = sent - 1
        else:
            last_expected = max(useq) if useq else first_expected - 1

    first_copy: dict[int, int] = {}  # unwrapped seq -> index of first copy
    duplicates = reordered = outside = 0
    highest: int | None = None
    for i in range(n):
        u = useq[i]
        if u in first_copy:
            duplicates += 1
            continue
        first_copy[u] = i
        if highest is not None and u < highest:
            reordered += 1
        if highest is None or u > highest:
            highest = u
        if u < first_expected or u > last_expected:
            outside += 1

    good = sorted(u for u in first_copy if first_expected <= u <= last_expected)
    expected = max(0, last_expected - first_expected + 1)
    received = len(good)
    gaps: list[Gap] = []

    def snd(u: int) -> int:
        return int(send_ns[first_copy[u]])

    if expected and not good:
        gaps.append(Gap("all", first_expected, last_expected, expected, None, None,
                        None, None, I, censored=True))
    elif good:
        if good[0] > first_expected:
            lost = good[0] - first_expected
            end = snd(good[0])
            gaps.append(Gap("start", first_expected, good[0] - 1, lost, None, good[0],
                            end - (lost + 1) * I, end, I, censored=True))
        for a, b in zip(good, good[1:]):
            if b - a > 1:
                gaps.append(Gap("interior", a + 1, b - 1, b - a - 1, a, b, snd(a), snd(b), I))
        if good[-1] < last_expected:
            lost = last_expected - good[-1]
            start = snd(good[-1])
            gaps.append(Gap("end", good[-1] + 1, last_expected, lost, good[-1], None,
                            start, start + (lost + 1) * I, I, censored=True))

    lat: list[int] = []
    if recv_ns is not None:
        lat = sorted(int(recv_ns[first_copy[u]]) - snd(u) for u in good)
    p50 = percentile(lat, 50)
    p99 = percentile(lat, 99)
    return FlowResult(
        flow=flow, direction=direction, interval_ns=I,
        first_expected_seq=first_expected, last_expected_seq=last_expected,
        expected=expected, received=received, lost=expected - received,
        duplicates=duplicates, reordered=reordered, out_of_window=outside, gaps=gaps,
        latency_p50_ms=_ms(p50), latency_p99_ms=_ms(p99),
        latency_max_ms=_ms(lat[-1]) if lat else None,
        good_seq=good,
        good_send_ns=[snd(u) for u in good],
    )


# ---------------------------------------------------------------------------------------
# per direction (aggregate over flows)
# ---------------------------------------------------------------------------------------
@dataclass
class DirectionResult:
    direction: str
    interval_ns: int
    flows: list[FlowResult]
    flow_offset_ns: int = 0  # stagger between flows (0: flows sent together)

    @property
    def resolution_ms(self) -> float:
        return self.interval_ns / 1e6

    @property
    def outage_ms(self) -> float:
        return max((f.outage_ms for f in self.flows), default=0.0)

    @property
    def outage_flow(self) -> int | None:
        if not self.flows:
            return None
        return max(self.flows, key=lambda f: f.outage_ms).flow

    @property
    def outage_censored(self) -> bool:
        return any(f.outage_censored for f in self.flows if f.outage_ms == self.outage_ms)

    @property
    def expected(self) -> int:
        return sum(f.expected for f in self.flows)

    @property
    def lost(self) -> int:
        return sum(f.lost for f in self.flows)

    @property
    def loss_time_ms(self) -> float:
        """RFC 6412: packets lost / offered load (all flows)."""
        if not self.flows:
            return 0.0
        return self.lost * self.interval_ns / len(self.flows) / 1e6

    @property
    def route_specific_ms(self) -> dict[str, float | None]:
        """RFC 6412 route-specific loss-derived convergence time over flows."""
        v = sorted(f.loss_time_ms for f in self.flows)
        if not v:
            return {"min": None, "max": None, "median": None, "mean": None}
        return {"min": v[0], "max": v[-1], "median": percentile(v, 50), "mean": sum(v) / len(v)}

    @property
    def blackout_ms(self) -> float:
        """Longest time no flow delivered a packet, by the timestamp method on the merged
        stream: the flows' packets are merged in send order (key ``seq*F + flow``, which is
        the schedule order with or without stagger); a run of at least F consecutive lost
        keys (every flow lost its packet of a round) is a blackout, measured as send time of
        the first good packet after - last good packet before.  Sender stalls (no lost
        packet) and losses confined to some flows do not count.  Resolution: ``flow_offset_ns`` when flows are staggered,
        else the interval.  Censored start/end gaps contribute their estimated edges.
        """
        if not self.flows:
            return 0.0
        F = max(f.flow for f in self.flows) + 1
        win = {f.flow: (f.first_expected_seq, f.last_expected_seq) for f in self.flows}
        pts: list[tuple[int, int]] = []
        for f in self.flows:
            pts.extend((u * F + f.flow, t) for u, t in zip(f.good_seq, f.good_send_ns))
            for g in f.gaps:
                if g.kind == "start" and g.start_ns is not None:
                    pts.append(((g.first_lost_seq - 1) * F + f.flow, g.start_ns))
                elif g.kind == "end" and g.end_ns is not None:
                    pts.append(((g.last_lost_seq + 1) * F + f.flow, g.end_ns))
        pts.sort()
        longest = 0
        for (ka, ta), (kb, tb) in zip(pts, pts[1:]):
            if kb - ka <= 1 or tb - ta <= longest:
                continue
            lost = 0
            for k in range(ka + 1, kb):  # at least F expected (hence lost) keys in a row?
                w = win.get(k % F)
                if w is not None and w[0] <= k // F <= w[1]:
                    lost += 1
                    if lost >= F:
                        longest = tb - ta
                        break
        return longest / 1e6

    @property
    def blackout_resolution_ms(self) -> float:
        return (self.flow_offset_ns or self.interval_ns) / 1e6

    @property
    def reordered(self) -> int:
        return sum(f.reordered for f in self.flows)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.flows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "flows_count": len(self.flows),
            "rate_pps": 1e9 / self.interval_ns,
            "resolution_ms": self.resolution_ms,
            "outage_ms": round(self.outage_ms, 6),
            "outage_flow": self.outage_flow,
            "outage_censored": self.outage_censored,
            "blackout_ms": round(self.blackout_ms, 6),
            "blackout_resolution_ms": self.blackout_resolution_ms,
            "expected": self.expected,
            "lost": self.lost,
            "loss_time_ms": round(self.loss_time_ms, 6),
            "route_specific_ms": self.route_specific_ms,
            "reordered": self.reordered,
            "duplicates": self.duplicates,
            "flows": [f.to_dict() for f in self.flows],
        }


def analyze_direction(
    records: Records,
    *,
    rate_pps: float | None = None,
    interval_ns: int | None = None,
    flows: int | Sequence[int] | None = None,
    sent: Sequence[int] | None = None,
    windows: Sequence[tuple[int, int]] | None = None,
    seq_bits: int | None = None,
    flow_offset_ns: int = 0,
    direction: str = "",
) -> DirectionResult:
    """Analyze every flow of one direction (records from the receiving probe).

    ``flows``: count or list of flow ids (default: those present in the records, or
    ``len(sent)``); ``sent[f]``: packets the sender sent on flow f; ``windows[f]``:
    explicit ``(first_expected, last_expected)`` per flow (overrides ``sent``).
    """
    I = _interval(rate_pps, interval_ns)
    bits = seq_bits if seq_bits is not None else records.seq_bits
    if flows is None:
        ids = list(range(len(sent))) if sent is not None else records.flows()
    elif isinstance(flows, int):
        ids = list(range(flows))
    else:
        ids = list(flows)
    per: dict[int, list[int]] = {f: [] for f in ids}
    for i, f in enumerate(records.flow):
        if f in per:
            per[f].append(i)
    results = []
    for f in ids:
        idx = per[f]
        kw: dict[str, Any] = {}
        if windows is not None:
            kw["first_expected"], kw["last_expected"] = windows[f]
        elif sent is not None:
            kw["sent"] = sent[f]
        results.append(analyze_flow(
            [records.seq[i] for i in idx],
            [records.send_ns[i] for i in idx],
            [records.recv_ns[i] for i in idx],
            interval_ns=I, seq_bits=bits, flow=f, direction=direction, **kw))
    return DirectionResult(direction=direction, interval_ns=I, flows=results,
                           flow_offset_ns=flow_offset_ns)


def expected_windows(sender_meta: Mapping[str, Any], receiver_meta: Mapping[str, Any] | None,
                     grace_ms: float = 50.0) -> list[tuple[int, int]]:
    """Per-flow expected sequence window from the two probes' sidecars.

    A packet is expected if the sender sent it (seq < sent[f]) and its nominal send time
    ``t0 + seq*I + f*offset`` fell inside the receiver's receive window, less ``grace_ms``
    at the end for packets still in flight when the receiver stopped.
    """
    sch = sender_meta["schedule"]
    t0, I, off = int(sch["t0_ns"]), int(sch["interval_ns"]), int(sch["flow_offset_ns"])
    sent = sender_meta["sent"]
    out = []
    for f, n in enumerate(sent):
        first, last = 0, n - 1
        if receiver_meta is not None:
            rs = receiver_meta.get("recv_start_ns")
            re_ = receiver_meta.get("recv_end_ns")
            base = t0 + f * off
            if rs:
                first = max(first, -(-(int(rs) - base) // I))
            if re_:
                last = min(last, (int(re_) - int(grace_ms * 1e6) - base) // I)
        out.append((first, max(last, first - 1)))
    return out


@dataclass
class RunResult:
    directions: dict[str, DirectionResult]

    @property
    def outage_ms(self) -> float:
        return max((d.outage_ms for d in self.directions.values()), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outage_ms": round(self.outage_ms, 6),
            "directions": {k: d.to_dict() for k, d in self.directions.items()},
        }


def analyze_direction_from_meta(receiver_records: Records, sender_meta: Mapping[str, Any],
                                receiver_meta: Mapping[str, Any] | None = None, *,
                                direction: str = "", grace_ms: float = 50.0) -> DirectionResult:
    sch = sender_meta["schedule"]
    return analyze_direction(
        receiver_records,
        interval_ns=int(sch["interval_ns"]),
        flows=len(sender_meta["sent"]),
        windows=expected_windows(sender_meta, receiver_meta, grace_ms),
        seq_bits=int(sender_meta["params"]["seq_bits"]),
        flow_offset_ns=int(sch["flow_offset_ns"]),
        direction=direction,
    )


def analyze_pair(a: tuple[Records, Mapping[str, Any]], b: tuple[Records, Mapping[str, Any]],
                 names: tuple[str, str] = ("a", "b"), grace_ms: float = 50.0) -> RunResult:
    """Both directions of a probe pair: ``a`` and ``b`` are (records, meta) of each end."""
    (ra, ma), (rb, mb) = a, b
    na, nb = names
    return RunResult({
        f"{na}->{nb}": analyze_direction_from_meta(rb, ma, mb, direction=f"{na}->{nb}",
                                                   grace_ms=grace_ms),
        f"{nb}->{na}": analyze_direction_from_meta(ra, mb, ma, direction=f"{nb}->{na}",
                                                   grace_ms=grace_ms),
    })


def analyze_files(a_out: str, b_out: str, names: tuple[str, str] = ("a", "b"),
                  grace_ms: float = 50.0) -> RunResult:
    return analyze_pair(load_probe(a_out), load_probe(b_out), names, grace_ms)


# ---------------------------------------------------------------------------------------
# path per time
# ---------------------------------------------------------------------------------------
@dataclass
class PathSample:
    t_ns: int  # bucket start (absolute, CLOCK_MONOTONIC)
    t_ms: float  # bucket start relative to the series origin
    path: str | None  # most packets in the bucket; None: no packet (loss)
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"t_ns": self.t_ns, "t_ms": self.t_ms, "path": self.path, "counts": self.counts}


@dataclass
class PathTransition:
    from_path: str
    to_path: str
    last_old_seq: int
    first_new_seq: int
    last_old_send_ns: int
    first_new_send_ns: int

    @property
    def gap_ms(self) -> float:
        """RFC 6414 failover: first packet on the new path - last packet on the old."""
        return (self.first_new_send_ns - self.last_old_send_ns) / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_path, "to": self.to_path, "last_old_seq": self.last_old_seq,
                "first_new_seq": self.first_new_seq, "last_old_send_ns": self.last_old_send_ns,
                "first_new_send_ns": self.first_new_send_ns, "gap_ms": round(self.gap_ms, 6)}


@dataclass
class PathSeries:
    flow: int
    direction: str
    time_base: str  # "send" or "recv"
    origin_ns: int
    bucket_ns: int
    samples: list[PathSample]
    transitions: list[PathTransition]

    def to_dict(self) -> dict[str, Any]:
        return {"flow": self.flow, "direction": self.direction, "time_base": self.time_base,
                "origin_ns": self.origin_ns, "bucket_ms": self.bucket_ns / 1e6,
                "samples": [s.to_dict() for s in self.samples],
                "transitions": [t.to_dict() for t in self.transitions]}


def path_samples(
    records: Records,
    ifmap: Mapping[int, str],
    *,
    bucket_ms: float = 10.0,
    time_base: str = "send",
    origin_ns: int | None = None,
    end_ns: int | None = None,
    flows: Sequence[int] | None = None,
    direction: str = "",
    seq_bits: int | None = None,
) -> list[PathSeries]:
    """Path per time bucket (default 10 ms = 100 Hz) per flow, from the receive ifindex.

    Time is the packet's send time (``time_base="send"``) or receive time ("recv").  All
    flows share one origin/end (default: the earliest/latest packet) so series align; empty
    buckets (nothing received) have ``path=None``.  Unknown ifindexes map to "ifindex:N".
    Transitions are path changes between consecutive received packets in sequence order.
    """
    if time_base not in ("send", "recv"):
        raise ValueError("time_base must be 'send' or 'recv'")
    B = int(round(bucket_ms * 1e6))
    if B <= 0:
        raise ValueError("bucket_ms must be > 0")
    times = records.send_ns if time_base == "send" else records.recv_ns
    ids = list(flows) if flows is not None else records.flows()
    bits = seq_bits if seq_bits is not None else records.seq_bits
    if origin_ns is None:
        origin_ns = min(times) if len(records) else 0
    if end_ns is None:
        end_ns = max(times) if len(records) else origin_ns
    nb = max(0, (end_ns - origin_ns) // B + 1)

    def name(ifx: int) -> str:
        return ifmap.get(ifx, f"ifindex:{ifx}")

    out = []
    for f in ids:
        idx = [i for i, fl in enumerate(records.flow) if fl == f]
        buckets: list[dict[str, int]] = [dict() for _ in range(nb)]
        for i in idx:
            t = times[i]
            if t < origin_ns or t > end_ns:
                continue
            b = buckets[(t - origin_ns) // B]
            p = name(records.ifindex[i])
            b[p] = b.get(p, 0) + 1
        samples = []
        for k, c in enumerate(buckets):
            path = max(sorted(c), key=lambda p: c[p]) if c else None
            samples.append(PathSample(origin_ns + k * B, round(k * B / 1e6, 6), path, c))
        # transitions in sequence order (first copy of each seq)
        useq = unwrap_seq([records.seq[i] for i in idx], bits)
        first: dict[int, int] = {}
        for u, i in zip(useq, idx):
            first.setdefault(u, i)
        trans = []
        prev: tuple[int, int] | None = None
        for u in sorted(first):
            i = first[u]
            if prev is not None and records.ifindex[i] != records.ifindex[prev[1]]:
                trans.append(PathTransition(name(records.ifindex[prev[1]]),
                                            name(records.ifindex[i]), prev[0], u,
                                            records.send_ns[prev[1]], records.send_ns[i]))
            prev = (u, i)
        out.append(PathSeries(f, direction, time_base, origin_ns, B, samples, trans))
    return out
