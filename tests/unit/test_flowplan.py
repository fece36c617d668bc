"""The flow plan's choice of ports (pure: no root, no network)."""
import pytest

from testbed.measure.flowplan import choose, default_ports

AB, BA = "h1->vm1", "vm1->h1"


def _seen(rows: dict[int, tuple[str | None, str | None]]) -> dict[int, dict[str, str | None]]:
    return {p: {AB: ab, BA: ba} for p, (ab, ba) in rows.items()}


def test_the_blind_choice_would_miss_a_tunnel_the_plan_does_not():
    # the first four ports all hash onto tunnel1 going out: the consecutive choice misses tunnel0
    seen = _seen({47000: ("t1", "t0"), 47001: ("t1", "t1"), 47002: ("t1", "t0"), 47003: ("t1", "t1"),
                  47004: ("t0", "t1"), 47005: ("t0", "t0")})
    plan = choose(seen, 4)
    paths = {(d, path) for p in plan.ports for d, path in plan.paths[p].items()}
    assert paths == {(AB, "t0"), (AB, "t1"), (BA, "t0"), (BA, "t1")}
    assert len(plan.ports) == 4 and plan.uncovered == []


def test_fills_up_keeping_paths_balanced_and_is_deterministic():
    seen = _seen({p: (("t0", "t1")[p % 2], ("t0", "t1")[(p // 2) % 2]) for p in range(47000, 47016)})
    plan = choose(seen, 4)
    assert plan == choose(seen, 4)
    outbound = [plan.paths[p][AB] for p in plan.ports]
    inbound = [plan.paths[p][BA] for p in plan.ports]
    assert sorted(outbound) == ["t0", "t0", "t1", "t1"] and sorted(inbound) == ["t0", "t0", "t1", "t1"]


def test_too_few_flows_for_the_paths_are_named():
    seen = _seen({47000: ("a", "a"), 47001: ("b", "b"), 47002: ("c", "c")})
    plan = choose(seen, 2)
    assert len(plan.ports) == 2
    assert len(plan.uncovered) == 2 and all(" via " in u for u in plan.uncovered)


def test_ports_that_lost_every_packet_are_not_chosen():
    seen = _seen({47000: (None, None), 47001: ("t0", "t0"), 47002: ("t0", None)})
    assert choose(seen, 4).ports == [47001, 47002]
    assert choose(_seen({47000: (None, None)}), 4).ports == []


def test_default_ports_are_consecutive_from_the_marked_range():
    assert default_ports(3) == [47000, 47001, 47002]


def test_the_probe_takes_a_plans_ports_and_refuses_duplicates():
    from testbed.measure.probe import build_parser
    a = build_parser().parse_args(["--peer", "192.0.2.1", "--out", "x", "--ports", "47003,47010"])
    assert a.ports == [47003, 47010]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--peer", "192.0.2.1", "--out", "x", "--ports", "47003,47003"])
