"""The netem faults' arguments and their refusals of figures netem would not take."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testbed import faults
from testbed.errors import TestbedError


def test_netem_arguments():
    assert faults.Delay("er-primary").netem() == ["delay", "50ms"]
    assert faults.Delay("er-primary", delay_ms=20, jitter_ms=5).netem() == ["delay", "20ms", "5ms"]
    assert faults.Reorder("er-primary", percent=30, delay_ms=8).netem() == ["delay", "8ms", "reorder", "30%"]
    assert faults.Rate("er-primary", kbit=512).netem() == ["rate", "512kbit"]
    assert faults.Delay("er-primary", jitter_ms=5).describe() == "er-primary: netem delay 50ms 5ms"


@pytest.mark.parametrize("fault", [faults.Delay("l", delay_ms=-1), faults.Delay("l", jitter_ms=-2),
                                   faults.Reorder("l", percent=0), faults.Reorder("l", percent=100),
                                   faults.Reorder("l", delay_ms=0), faults.Rate("l", kbit=0)])
def test_figures_netem_would_refuse_are_refused_in_one_sentence(fault):
    with pytest.raises(TestbedError, match=r"^l: .*\.$"):
        fault.netem()


@given(st.floats(0, 10_000, allow_nan=False), st.floats(0, 1_000, allow_nan=False))
def test_any_delay_and_jitter_of_zero_or_more_make_netem_arguments(delay, jitter):
    args = faults.Delay("l", delay_ms=delay, jitter_ms=jitter).netem()
    assert args[0] == "delay" and all(a.endswith("ms") for a in args[1:])
    assert len(args) == (3 if jitter else 2)


def test_a_netem_fault_on_a_link_the_topology_lacks_is_refused():
    from testbed.model import catalog
    with pytest.raises(TestbedError):
        faults.Rate("no-such-link").check(catalog.build("expressroute", {}))
