"""Property-based tests (Hypothesis): parameter and network-file validation never fail any
other way than one TestbedError sentence, and the outage maths (gaps, phases, per-flow
attribution) holds on synthetic probe records. Pure, no root; each test a fraction of a second."""
from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.errors import TestbedError
from testbed.measure.outage import DirectionResult, analyze_flow
from testbed.model import catalog
from testbed.model.params import DEFAULTS, Params
from testbed.results.trial import PHASES, direction_figures, phase_of

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MS = 1_000_000
I = MS  # 1,000 packets/s


def one_sentence(e: TestbedError) -> None:
    msg = str(e)
    assert msg and "\n" not in msg, msg


# --- parameters --------------------------------------------------------------------------------
raw_values = st.one_of(
    st.text(max_size=12), st.integers(-2**40, 2**40), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(), st.lists(st.integers(), max_size=3),
    st.sampled_from(["", " ", "10.0.0.0/8", "10.20.0.0/16", "0", "-1", "65515", "12076", "1e9", "nan",
                     "inf", "true", "off", "1_000", "0x10", "192.168.100.128/29", "aes256-sha256-modp2048"]),
)


@FAST
@given(key=st.sampled_from(sorted(DEFAULTS)), raw=raw_values)
def test_a_parameter_value_coerces_to_its_type_or_is_one_sentence(key, raw):
    try:
        p = Params({key: raw})
    except TestbedError as e:
        one_sentence(e)
        assert key in str(e)
        return
    assert type(p[key]) is type(DEFAULTS[key].default)


@FAST
@given(key=st.sampled_from(sorted(DEFAULTS)), raw=raw_values)
def test_a_topology_with_any_parameter_value_builds_or_is_one_sentence(key, raw):
    """What Params accepts, the topology checks: a value it cannot use is a sentence, never a crash."""
    try:
        catalog.build("hybrid", {key: raw})
    except TestbedError as e:
        one_sentence(e)


@FAST
@given(key=st.text(min_size=1, max_size=20), raw=raw_values)
def test_an_unknown_key_is_refused_never_ignored(key, raw):
    if key in DEFAULTS:
        return
    try:
        Params({key: raw})
    except TestbedError as e:
        one_sentence(e)
        assert "unknown parameter" in str(e)
    else:
        raise AssertionError(f"{key!r} was accepted")


# --- network files -----------------------------------------------------------------------------
GOOD = yaml.safe_load((Path(__file__).parent / "networks" / "good.yaml").read_text())


def leaves(tree, loc=()):
    """Every place in a network-file tree a value sits (mappings and lists included)."""
    yield loc
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from leaves(v, (*loc, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from leaves(v, (*loc, i))


PLACES = [loc for loc in leaves(GOOD) if loc]
file_values = st.one_of(
    st.none(), st.integers(-5, 70000), st.text(max_size=8), st.booleans(),
    st.sampled_from(["10.1.0.0/16", "10.10.0.0/16", "10.1.1.0/33", "192.168.100.128/30", "ce1", "core",
                     "vpn1", "er", "premium", "gold", 65515, 12076, "169.254.21.1", []]),
    st.lists(st.sampled_from(["10.1.0.0/16", "10.99.0.0/16", "ce1", 3]), max_size=2),
    st.fixed_dictionaries({"name": st.sampled_from(["x", "ce1", "Bad Name"])}),
)


def mutated(edits):
    tree = copy.deepcopy(GOOD)
    for loc, value, delete in edits:
        parent = tree
        try:
            for k in loc[:-1]:
                parent = parent[k]
            if delete:
                del parent[loc[-1]]
            else:
                parent[loc[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed the place
    return tree


@FAST
@given(st.lists(st.tuples(st.sampled_from(PLACES), file_values, st.booleans()), min_size=1, max_size=3))
def test_a_mutated_network_file_builds_or_is_one_sentence_naming_the_file(edits):
    tree = mutated(edits)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "net.yaml"
        path.write_text(yaml.safe_dump(tree))
        try:
            topo = catalog.build(str(path))
        except TestbedError as e:
            one_sentence(e)
            assert str(e).startswith(str(path)), str(e)
            assert str(e).endswith("."), str(e)
            return
    assert topo.routers and topo.endpoints


# --- the outage maths --------------------------------------------------------------------------
N = 300
losses = st.sets(st.integers(0, N - 1), max_size=120)


def flow_without(lost, flow=0, shuffle=None):
    seqs = [s for s in range(N) if s not in lost]
    if shuffle is not None:
        seqs = shuffle(seqs)
    return analyze_flow(seqs, interval_ns=I, sent=N, flow=flow)


@FAST
@given(losses)
def test_every_lost_packet_is_in_exactly_one_gap(lost):
    r = flow_without(lost)
    in_gaps = [s for g in r.gaps for s in range(g.first_lost_seq, g.last_lost_seq + 1)]
    assert sorted(in_gaps) == sorted(lost) and r.lost == len(lost) == sum(g.lost for g in r.gaps)
    assert abs(sum(g.loss_ms for g in r.gaps) - r.loss_time_ms) < 1e-9  # loss is the gaps' loss
    for g in r.gaps:  # RFC 6414: last good before to first good after, one interval more than the loss
        assert g.duration_ns == (g.lost + 1) * I
    assert r.outage_ms == max((g.duration_ms for g in r.gaps), default=0.0)


@FAST
@given(st.integers(1, N))
def test_a_flow_with_no_loss_has_no_outage(n):
    r = analyze_flow(list(range(n)), interval_ns=I, sent=n)
    assert r.gaps == [] and r.outage_ms == 0.0 and r.loss_time_ms == 0.0 and r.lost == 0


@FAST
@given(losses, losses)
def test_more_loss_never_means_a_shorter_outage(lost, more):
    a, b = flow_without(lost), flow_without(lost | more)
    assert b.outage_ms >= a.outage_ms and b.lost >= a.lost and b.loss_time_ms >= a.loss_time_ms


@FAST
@given(losses, st.randoms(use_true_random=False))
def test_arrival_order_does_not_change_the_loss(lost, rnd):
    def shuffled(seqs):
        seqs = list(seqs)
        rnd.shuffle(seqs)
        return seqs
    a, b = flow_without(lost), flow_without(lost, shuffle=shuffled)
    assert [g.to_dict() for g in a.gaps] == [g.to_dict() for g in b.gaps] and a.outage_ms == b.outage_ms


instants = st.tuples(st.integers(0, N * I), st.integers(0, N * I)).map(sorted)


@FAST
@given(st.lists(losses, min_size=1, max_size=4), instants)
def test_each_gap_is_attributed_to_one_phase_and_the_phases_add_up(flow_losses, inject_restore):
    inject, restore = inject_restore
    flows = [flow_without(lost, flow=i) for i, lost in enumerate(flow_losses)]
    figures = direction_figures(DirectionResult("a->b", I, flows), inject, restore, {})
    for f, fig in zip(flows, figures.flows):
        tol = I + MS  # as direction_figures: an interval and the time in flight (no latency here)
        phases = [phase_of(g, inject, restore, tol) for g in f.gaps]
        assert all(p in PHASES for p in phases)
        # every lost packet is counted once: in the fault's, the restore's or the baseline's loss
        total = fig.loss_ms + fig.restore_loss_ms + fig.baseline_lost * I / MS
        assert abs(total - f.loss_time_ms) < 0.01, (fig, f.loss_time_ms)
        assert fig.outage_ms <= f.outage_ms + 1e-9 and fig.restore_outage_ms <= f.outage_ms + 1e-9
        if not f.gaps:
            assert fig.outage_ms == fig.restore_outage_ms == 0.0 and fig.baseline_lost == 0


@FAST
@given(st.integers(0, N - 20), st.integers(1, 19), instants, st.integers(1, 50))
def test_a_later_gap_never_falls_in_an_earlier_phase(start, length, inject_restore, shift):
    inject, restore = inject_restore
    order = {p: i for i, p in enumerate(PHASES)}
    lost = set(range(start, start + length))
    (g,) = flow_without(lost).gaps
    later = set(range(min(start + shift, N - 20), min(start + shift, N - 20) + length))
    (h,) = flow_without(later).gaps
    tol = I + MS
    assert order[phase_of(h, inject, restore, tol)] >= order[phase_of(g, inject, restore, tol)]
