"""The pure parts of testbed.observe.checks: json_cmp's readable diffs, eventually, more-specific leaks."""
from __future__ import annotations

import pytest

from testbed.observe.checks import CheckFailed, eventually, json_cmp, more_specific_leaks


def test_json_cmp_is_a_subset_match():
    seen = {"10.10.0.0/16": [{"locPrf": 150, "bestpath": True, "path": "12076"}], "10.20.0.0/16": []}
    assert json_cmp({"10.10.0.0/16": [{"locPrf": 150}]}, seen) is None
    assert json_cmp({"10.99.0.0/16": None}, seen) is None                     # None: must be absent
    assert json_cmp({"10.20.0.0/16": None}, seen) == "$['10.20.0.0/16']: expected absent, seen []"


def test_json_cmp_diff_points_at_the_difference():
    seen = {"routes": {"10.10.0.0/16": [{"locPrf": 100, "path": "65515"}]}}
    assert json_cmp({"routes": {"10.10.0.0/16": [{"locPrf": 150}]}}, seen) == \
        "$['routes']['10.10.0.0/16'][0]['locPrf']: expected 150, seen 100"
    assert "expected [1, 2], seen [2, 1]" in json_cmp([1, 2], [2, 1], exact=True)
    assert json_cmp([1, 2], [2, 1, 3]) is None
    assert "not expected" in json_cmp({"a": 1}, {"a": 1, "b": 2}, exact=True)


def test_eventually_returns_the_time_or_fails_with_the_last_problems():
    calls = iter([["not yet"], ["not yet"], []])
    assert eventually(lambda: next(calls), within=5, interval=0.001) < 5
    with pytest.raises(CheckFailed) as e:
        eventually(lambda: json_cmp(["core-ce1", "core-ce2"], ["core-vpn1"], exact=True), within=0.05,
                   interval=0.01, what="core's next hops")
    assert str(e.value) == ("core's next hops: still wrong after 0.05 s:\n"
                            "  $: expected ['core-ce1', 'core-ce2'], seen ['core-vpn1']")


def test_more_specific_leaks():
    assert more_specific_leaks(["10.20.0.0/16"], ["10.20.0.0/16"]) == []
    assert more_specific_leaks(["10.99.0.0/16"], ["10.20.0.0/16"]) == []          # unrelated: not a leak
    (leak,) = more_specific_leaks(["10.20.1.0/24", "10.20.0.0/16"], ["10.20.0.0/16"])
    assert leak.startswith("10.20.1.0/24 is advertised over the VPN, ExpressRoute carries only 10.20.0.0/16")
