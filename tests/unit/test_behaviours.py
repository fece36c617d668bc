"""Behaviours the emulated side runs by itself: the MSEE's prefix-limit retry, and what happens
when a behaviour fails (it is reported, never swallowed)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from testbed.azure.prefix_limit import PrefixLimitRetry
from testbed.errors import TestbedError
from testbed.model import catalog
from testbed.runtime import state
from testbed.runtime.net import Network


class FakeFrr:
    """Answers ``show bgp neighbors X json`` with a given neighbor state; records commands."""

    def __init__(self, info: dict) -> None:
        self.info, self.commands = info, []

    def json(self, command: str) -> dict:
        addr = command.split()[3]
        return {addr: self.info}

    def command(self, *commands: str) -> str:
        self.commands += commands
        return ""


def test_a_session_dropped_for_the_prefix_limit_is_cleared_after_the_retry_delay(monkeypatch):
    topo = catalog.build("expressroute")
    dropped = FakeFrr({"bgpState": "Idle", "lastResetDueTo": "Maximum prefixes received"})
    net = SimpleNamespace(topo=topo, frr={"msee1": dropped, "msee2": FakeFrr({"bgpState": "Established"})})
    clock = iter([100.0, 100.0, 103.0, 103.0, 105.5, 105.5])
    monkeypatch.setattr("testbed.azure.prefix_limit.time.monotonic", lambda: next(clock))
    retry = PrefixLimitRetry(("msee1", "msee2"), retry_s=5)
    retry.step(net)                      # seen down at 100 s
    retry.step(net)                      # 103 s: not yet
    assert dropped.commands == []
    retry.step(net)                      # 105.5 s: retried, as the MSEE does
    ce1 = topo.neighbor("msee1", "er-primary").addr
    assert dropped.commands == [f"clear bgp ipv4 unicast {ce1}"]
    assert net.frr["msee2"].commands == []


def test_a_failing_behaviour_is_recorded_in_the_state_and_printed(monkeypatch, capsys):
    net = Network(catalog.build("expressroute"), run="bhv")
    written = []
    monkeypatch.setattr(state, "write", lambda run, st: written.append(dict(st)))

    class Boom:
        name, interval_s = "boom", 0.001

        def step(self, _net) -> None:
            raise RuntimeError("vtysh did not answer")

    net._run_behaviour(Boom())
    assert written[-1]["errors"] == ["boom stopped: vtysh did not answer"]
    assert "boom stopped: vtysh did not answer" in capsys.readouterr().err
    # ...and whatever runs on the network stops with it (the runner checks after each trial)
    with pytest.raises(TestbedError, match="boom stopped: vtysh did not answer; the emulation is incomplete"):
        net.check_behaviours()
