"""Unit tests for testbed.measure.outage on hand-made sequences (no root, milliseconds)."""
from __future__ import annotations

import json

import pytest

from testbed.measure.outage import (
    analyze_direction,
    analyze_flow,
    analyze_pair,
    expected_windows,
    path_samples,
    percentile,
    unwrap_seq,
)
from testbed.measure.records import RECORD, Records, file_header, load_records

MS = 1_000_000
I = MS  # 1000 packets/s


def seqs_without(n, lost):
    lost = set(lost)
    return [s for s in range(n) if s not in lost]


def test_no_loss():
    r = analyze_flow(list(range(100)), rate_pps=1000, sent=100)
    assert r.lost == 0 and r.gaps == [] and r.outage_ms == 0.0
    assert r.received == r.expected == 100
    assert r.reordered == r.duplicates == 0
    assert r.resolution_ms == 1.0 and r.loss_time_ms == 0.0


def test_one_gap_timestamp_and_loss_forms():
    r = analyze_flow(seqs_without(100, range(10, 20)), rate_pps=1000, sent=100)
    assert r.lost == 10
    (g,) = r.gaps
    assert (g.kind, g.first_lost_seq, g.last_lost_seq, g.lost) == ("interior", 10, 19, 10)
    assert (g.last_good_seq, g.first_good_seq) == (9, 20)
    assert (g.start_ns, g.end_ns) == (9 * I, 20 * I)
    assert g.duration_ms == 11.0  # RFC 6414: first good after - last good before
    assert g.loss_ms == 10.0  # lost x interval
    assert not g.censored
    assert r.outage_ms == 11.0 and r.outage_loss_ms == 10.0
    assert r.loss_time_ms == 10.0  # RFC 6412: lost / rate


def test_gap_uses_real_send_stamps():
    seq = seqs_without(20, range(5, 8))
    send = [s * I + (700_000 if s == 8 else 0) for s in seq]  # first good after was late
    r = analyze_flow(seq, send, rate_pps=1000, sent=20)
    assert r.gaps[0].duration_ns == 8 * I + 700_000 - 4 * I
    assert r.gaps[0].loss_ms == 3.0


def test_loss_at_start():
    r = analyze_flow(list(range(5, 100)), rate_pps=1000, sent=100)
    (g,) = r.gaps
    assert g.kind == "start" and g.censored
    assert (g.first_lost_seq, g.last_lost_seq, g.lost) == (0, 4, 5)
    assert g.last_good_seq is None and g.first_good_seq == 5
    assert g.end_ns == 5 * I and g.start_ns == -1 * I  # virtual last good at seq -1
    assert g.duration_ms == 6.0 and g.loss_ms == 5.0
    assert r.lost == 5 and r.outage_censored


def test_loss_at_end_uses_sent_count():
    r = analyze_flow(list(range(95)), rate_pps=1000, sent=100)
    (g,) = r.gaps
    assert g.kind == "end" and g.censored
    assert (g.first_lost_seq, g.last_lost_seq, g.lost) == (95, 99, 5)
    assert g.start_ns == 94 * I and g.end_ns == 100 * I
    assert r.lost == 5
    # without the sender's count the end loss is invisible
    assert analyze_flow(list(range(95)), rate_pps=1000).lost == 0


def test_gap_spanning_end_of_run():
    seq = seqs_without(50, range(10, 12))  # a short interior gap, then down until the end
    r = analyze_flow(seq, rate_pps=1000, sent=200)
    assert [g.kind for g in r.gaps] == ["interior", "end"]
    end = r.gaps[-1]
    assert (end.first_lost_seq, end.last_lost_seq, end.lost) == (50, 199, 150)
    assert r.outage_ms == 151.0 and r.outage_loss_ms == 150.0 and r.outage_censored
    assert r.lost == 152


def test_nothing_received():
    r = analyze_flow([], rate_pps=1000, sent=10)
    (g,) = r.gaps
    assert g.kind == "all" and g.lost == 10 and g.censored
    assert r.outage_ms == 11.0 and r.received == 0


def test_reordering_is_not_loss():
    order = [0, 1, 3, 2, 4, 7, 5, 6, 8, 9]
    r = analyze_flow(order, rate_pps=1000, sent=10)
    assert r.lost == 0 and r.gaps == []
    assert r.reordered == 3  # 2 after 3; 5 and 6 after 7
    assert r.duplicates == 0


def test_duplicates():
    r = analyze_flow([0, 1, 1, 2, 3, 3, 3, 4], rate_pps=1000, sent=5)
    assert r.duplicates == 3 and r.lost == 0 and r.received == 5 and r.reordered == 0


def test_latency_percentiles():
    seq = list(range(100))
    send = [s * I for s in seq]
    recv = [t + (s + 1) * 1000 for s, t in zip(seq, send)]  # 1..100 us
    r = analyze_flow(seq, send, recv, rate_pps=1000, sent=100)
    assert r.latency_p50_ms == pytest.approx(0.0505)
    assert r.latency_p99_ms == pytest.approx(0.09901)
    assert r.latency_max_ms == pytest.approx(0.1)
    assert percentile([], 50) is None and percentile([3], 99) == 3.0


def test_unwrap():
    raw = [s % 256 for s in range(600)]
    assert unwrap_seq(raw, 8) == list(range(600))
    assert unwrap_seq([254, 255, 1, 0, 2], 8, anchor=250) == [254, 255, 257, 256, 258]
    assert unwrap_seq([254, 255, 1], 8) == [-2, -1, 1]  # first packet placed nearest the anchor
    assert unwrap_seq([5, 3], 64) == [5, 3]
    assert unwrap_seq([250, 251], 8, anchor=1000) == [1018, 1019]  # 1018 = 3*256 + 250


def test_counter_wrap_around():
    true = seqs_without(600, range(250, 262))  # gap across the 8-bit wrap at 256
    raw = [s % 256 for s in true]
    send = [s * I for s in true]
    r = analyze_flow(raw, send, rate_pps=1000, sent=600, seq_bits=8)
    assert r.lost == 12 and r.reordered == 0
    (g,) = r.gaps
    assert (g.first_lost_seq, g.last_lost_seq) == (250, 261)
    assert g.duration_ms == 13.0
    # reordering across the wrap is reordering, not loss
    order = [254, 255, 257, 256, 258]
    r2 = analyze_flow([s % 256 for s in order], [s * I for s in order], rate_pps=1000,
                      first_expected=254, last_expected=258, seq_bits=8)
    assert r2.lost == 0 and r2.reordered == 1


def rows_for(flow, seqs, offset_ns=0, ifindex=-1, latency=50_000):
    return [(flow, s, s * I + offset_ns, s * I + offset_ns + latency, ifindex) for s in seqs]


def test_multiple_flows_aggregate():
    rows = []
    rows += rows_for(0, seqs_without(100, range(20, 40)))  # 20 lost
    rows += rows_for(1, seqs_without(100, range(25, 30)))  # 5 lost
    rows += rows_for(2, range(100))  # clean
    rows += rows_for(3, seqs_without(100, range(90, 100)))  # 10 lost at the end
    rows.sort(key=lambda r: r[3])
    d = analyze_direction(Records.from_rows(rows), rate_pps=1000, sent=[100] * 4,
                          direction="a->b")
    assert [f.lost for f in d.flows] == [20, 5, 0, 10]
    assert d.outage_ms == 21.0 and d.outage_flow == 0 and not d.outage_censored
    assert d.lost == 35
    assert d.loss_time_ms == pytest.approx(35 / 4)  # lost / (4 flows x 1000 pps)
    rs = d.route_specific_ms
    assert (rs["min"], rs["max"], rs["median"], rs["mean"]) == (0.0, 20.0, 7.5, 8.75)
    assert d.blackout_ms == 0.0  # flow 2 never lost anything
    assert [f.latency_p50_ms for f in d.flows] == [0.05] * 4
    json.dumps(d.to_dict())  # serializable


def test_blackout_merged_streams():
    off = 250_000  # staggered flows
    rows = []
    for f in range(4):
        rows += rows_for(f, seqs_without(100, range(30, 50)), offset_ns=f * off)
    d = analyze_direction(Records.from_rows(rows), rate_pps=1000, sent=[100] * 4,
                          flow_offset_ns=off)
    assert d.outage_ms == 21.0
    # merged: last good = flow 3 seq 29, first good = flow 0 seq 50
    assert d.blackout_ms == pytest.approx((50 * I) / 1e6 - (29 * I + 3 * off) / 1e6)
    assert d.blackout_resolution_ms == 0.25


def test_sender_stall_is_not_a_blackout():
    rows = []
    for f in range(2):
        rows += [(f, s, s * I + (5 * I if s >= 10 else 0), 0, -1) for s in range(20)]
    d = analyze_direction(Records.from_rows(rows), rate_pps=1000, sent=[20, 20])
    assert d.lost == 0 and d.blackout_ms == 0.0 and d.outage_ms == 0.0


def test_missing_flow_counts_as_all_lost():
    rows = rows_for(0, range(10))
    d = analyze_direction(Records.from_rows(rows), rate_pps=1000, sent=[10, 10])
    assert [f.lost for f in d.flows] == [0, 10]
    assert d.flows[1].gaps[0].kind == "all"


def test_path_bucketing():
    # flow 0: on ifindex 2 ("er") until seq 49, lost 50..59, then on ifindex 3 ("vpn")
    rows = [(0, s, s * I, s * I + 10_000, 2 if s < 50 else 3) for s in seqs_without(100, range(50, 60))]
    rows += [(1, s, s * I, s * I + 10_000, 2) for s in range(100)]
    series = path_samples(Records.from_rows(rows), {2: "er", 3: "vpn"}, bucket_ms=10,
                          direction="a->b")
    assert [s.flow for s in series] == [0, 1]
    s0 = series[0]
    assert len(s0.samples) == 10 and s0.bucket_ns == 10 * I
    assert [x.path for x in s0.samples] == ["er"] * 5 + [None] + ["vpn"] * 4
    assert s0.samples[0].counts == {"er": 10} and s0.samples[5].counts == {}
    assert s0.samples[6].t_ms == 60.0
    (t,) = s0.transitions
    assert (t.from_path, t.to_path, t.last_old_seq, t.first_new_seq) == ("er", "vpn", 49, 60)
    assert t.gap_ms == 11.0
    assert [x.path for x in series[1].samples] == ["er"] * 10 and series[1].transitions == []
    json.dumps([s.to_dict() for s in series])
    # receive time base, unknown interface, mixed bucket (majority wins)
    rows = [(0, s, s * I, s * I, 7 if s % 3 == 0 else 2) for s in range(10)]
    (sr,) = path_samples(Records.from_rows(rows), {2: "er"}, bucket_ms=10, time_base="recv")
    assert sr.samples[0].path == "er" and sr.samples[0].counts == {"er": 6, "ifindex:7": 4}


def test_load_records_and_pair(tmp_path):
    def write(path, rows, seq_bits=64):
        with open(path, "wb") as f:
            f.write(file_header(seq_bits))
            for fl, seq, snd, rcv, ifx in rows:
                f.write(RECORD.pack(fl, 1, ifx, seq, snd, rcv))
            f.write(b"\x01\x02\x03")  # torn trailing record is ignored

    t0 = 1_000 * I
    a_rows = [(f, s, t0 + s * I, t0 + s * I + 20_000, 5) for f in range(2) for s in range(100)]
    b_rows = [(f, s % 256, t0 + s * I, t0 + s * I + 20_000, 6)
              for f in range(2) for s in seqs_without(100, range(40, 60))]
    write(tmp_path / "a.bin", a_rows)
    write(tmp_path / "b.bin", b_rows, seq_bits=8)
    rec = load_records(str(tmp_path / "b.bin"))
    assert len(rec) == len(b_rows) and rec.seq_bits == 8 and rec.flags[0] == 1

    def meta(seq_bits):
        return {"schedule": {"t0_ns": t0, "interval_ns": I, "flow_offset_ns": 0},
                "sent": [100, 100], "params": {"seq_bits": seq_bits},
                "recv_start_ns": t0 - 5 * I, "recv_end_ns": t0 + 200 * I}

    ma, mb = meta(8), meta(64)
    assert expected_windows(ma, mb) == [(0, 99), (0, 99)]
    # receiver stopped early: packets sent after (stop - grace) are not expected
    assert expected_windows(ma, dict(mb, recv_end_ns=t0 + 90 * I), grace_ms=5) == [(0, 85)] * 2
    res = analyze_pair((load_records(str(tmp_path / "a.bin")), ma), (rec, mb), ("a", "b"))
    ab = res.directions["a->b"]
    assert ab.outage_ms == 21.0 and ab.lost == 40
    assert res.directions["b->a"].lost == 0
    assert res.outage_ms == 21.0
    assert json.loads(json.dumps(res.to_dict()))["directions"]["a->b"]["outage_ms"] == 21.0


def test_bad_file(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"nope" * 8)
    with pytest.raises(ValueError):
        load_records(str(p))


def test_a_tail_reads_a_growing_record_file_record_by_record(tmp_path):
    from testbed.measure.records import Tail
    path = tmp_path / "b.bin"
    path.write_bytes(b"")
    tail = Tail(str(path))
    assert len(tail.read()) == 0                       # nothing yet, not even the header
    recs = [RECORD.pack(0, 1, 5, s, 1000 + s, 2000 + s) for s in range(3)]
    with open(path, "ab") as f:
        f.write(file_header(16)[:10])                   # half a header
    assert len(tail.read()) == 0
    with open(path, "ab") as f:
        f.write(file_header(16)[10:] + recs[0] + recs[1][:7])  # a torn second record
    first = tail.read()
    assert list(first.seq) == [0] and tail.seq_bits == 16
    with open(path, "ab") as f:
        f.write(recs[1][7:] + recs[2])
    assert list(tail.read().seq) == [1, 2] and len(tail.read()) == 0


def test_delivery_names_the_flows_with_nothing_delivered_since_an_instant(tmp_path):
    from testbed.measure.probepair import Delivery
    files = {"h1": tmp_path / "h1.bin", "h2": tmp_path / "h2.bin"}
    # h2 receives h1's two flows (sent at 100 and 200 ns), h1 only flow 0 of h2's (at 300 ns)
    files["h2"].write_bytes(file_header(64) + RECORD.pack(0, 1, 5, 0, 100, 150) + RECORD.pack(1, 1, 5, 0, 200, 250))
    files["h1"].write_bytes(file_header(64) + RECORD.pack(0, 1, 5, 0, 300, 350))
    d = Delivery(("h1", "h2"), files, 2)
    assert d.missing_since(100) == ["h2->h1 flow 1: nothing sent since then delivered yet"]
    assert d.missing_since(150) == ["h1->h2 flow 0: nothing sent since then delivered yet",
                                    "h2->h1 flow 1: nothing sent since then delivered yet"]
    with open(files["h1"], "ab") as f:
        f.write(RECORD.pack(1, 1, 5, 0, 400, 450))
    assert d.missing_since(100) == []
