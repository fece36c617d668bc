"""The netem faults, measured by the probes on the pair topology (one link, one clock)."""
from __future__ import annotations

import statistics
import time

import pytest

from testbed import faults
from testbed.model import catalog
from testbed.observe import converge
from fullkernel import RELAXED, RUN, SLOW, needs_netem

pytestmark = [pytest.mark.integration, pytest.mark.fullkernel]


# --- netem faults -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair():
    from testbed.runtime.net import Network
    with Network(catalog.build("pair", {**SLOW}), run=f"{RUN}p") as n:
        converge.wait_converged(n)
        yield n


def _received(net, workdir, fault=None, rate: float = 200, seconds: float = 2.0) -> dict:
    """The probe records a->b and b->a of ``seconds`` of traffic at ``rate`` packets/s, with
    ``fault`` in place meanwhile (and removed after)."""
    from testbed.measure import probepair
    from testbed.measure.records import load_records
    workdir.mkdir(parents=True, exist_ok=True)
    if fault:
        fault.inject(net)
    try:
        with probepair.probes(net, ("a", "b"), workdir, ports=[40000], rate=rate) as files:
            time.sleep(seconds)
    finally:
        if fault:
            fault.restore(net)
    return {direction: load_records(str(files[receiver])) for receiver, direction in (("b", "a->b"), ("a", "b->a"))}


def _one_way_ms(records) -> list[float]:
    """One-way delays (ms): one kernel, so one clock, and receive minus send stamp is the delay."""
    return [(rv - sd) / 1e6 for sd, rv in zip(records.send_ns, records.recv_ns)]


@needs_netem
def test_an_injected_50_ms_delay_is_50_ms_more_one_way(pair, tmp_path):
    base = {d: _one_way_ms(r) for d, r in _received(pair, tmp_path / "base").items()}
    delayed = {d: _one_way_ms(r) for d, r in
               _received(pair, tmp_path / "delayed", faults.Delay("cal-link", node="a", delay_ms=50)).items()}
    added = {d: statistics.median(delayed[d]) - statistics.median(base[d]) for d in base}
    print(f"\nnetem delay 50 ms on a's end of cal-link: one-way median a->b "
          f"{statistics.median(base['a->b']):.2f} -> {statistics.median(delayed['a->b']):.2f} ms "
          f"(+{added['a->b']:.2f}), b->a +{added['b->a']:.2f} ms")
    tolerance = 10 if RELAXED else 2
    assert abs(added["a->b"] - 50) <= tolerance
    assert abs(added["b->a"]) <= tolerance


@needs_netem
def test_jitter_spreads_the_delay_and_reordering_reorders(pair, tmp_path):
    jitter = faults.Delay("cal-link", node="a", delay_ms=30, jitter_ms=10)
    spread = _one_way_ms(_received(pair, tmp_path / "jitter", jitter)["a->b"])
    deciles = statistics.quantiles(spread, n=10)
    assert deciles[-1] - deciles[0] > 8, deciles  # uniform within 30 +- 10 ms: p90 - p10 about 16 ms

    reorder = faults.Reorder("cal-link", node="a", percent=50, delay_ms=20)
    seq = list(_received(pair, tmp_path / "reorder", reorder, rate=500)["a->b"].seq)
    late = sum(1 for x, y in zip(seq, seq[1:]) if y < x)
    print(f"\nnetem jitter 30+-10 ms: p10 {deciles[0]:.1f} p90 {deciles[-1]:.1f} ms; reorder 50 %: "
          f"{late} of {len(seq)} packets arrived after a later one")
    assert late > len(seq) * 0.1


@needs_netem
def test_a_rate_limit_caps_what_the_link_end_sends(pair, tmp_path):
    got = {d: len(r.seq) for d, r in _received(pair, tmp_path, faults.Rate("cal-link", node="a", kbit=64),
                                                rate=1000).items()}
    print(f"\nnetem rate 64 kbit/s on a's end: packets received in 2 s: {got}")
    assert got["a->b"] < got["b->a"] / 4
