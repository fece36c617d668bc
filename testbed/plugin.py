"""The pytest plugin (entry point ``pytest11: testbed``): test your BGP policy against the emulation.

A test module says what to bring up with a marker; the ``testbed_net`` fixture starts it once
per module, waits until it converged and tears it down after the module's last test::

    pytestmark = pytest.mark.testbed(topology="hybrid", params={"bfd.interval_ms": 300},
                                     configs={"ce1": "ce1.conf"})   # paths relative to the module

    def test_er_preferred(testbed_net):
        eventually(lambda: path_through(testbed_net, "h1", vm1, {"er-primary", "er-secondary"}), within=10)

Command-line options override the marker, so one test file runs against variants:
``--testbed-topology NAME``, ``--testbed-set K=V`` and ``--testbed-config NODE=FILE`` (both
repeatable; files relative to where pytest runs) and ``--testbed-run NAME``.

``testbed_faults`` injects faults from ``testbed.faults`` (``fail(fault)``, ``restore()``);
whatever a test leaves failed is restored after it, and the next test starts only once the
network is back to its converged state. The checks to write the tests with are in
``testbed.observe.checks``. Tests using these fixtures need root; without it they are skipped.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from testbed.daemons.byoconfig import node_files
from testbed.errors import TestbedError
from testbed.faults import Fault
from testbed.model import catalog
from testbed.model.events import Event
from testbed.model.params import parse_sets
from testbed.observe import converge
from testbed.runtime.net import Network
from testbed.system import preflight

DEFAULT_RUN = "pytest"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testbed", "testbed: Azure hybrid connectivity emulation")
    group.addoption("--testbed-topology", metavar="NAME", help="topology for testbed_net (overrides the marker)")
    group.addoption("--testbed-set", action="append", default=[], metavar="K=V",
                    help="override a parameter ('testbed params'); repeatable")
    group.addoption("--testbed-config", action="append", default=[], metavar="NODE=FILE",
                    help="your own FRR config on an on-prem router (overrides the marker's); repeatable")
    group.addoption("--testbed-run", default=DEFAULT_RUN, metavar="NAME",
                    help=f"run name of the network the tests bring up (default {DEFAULT_RUN})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "testbed(topology=None, network=None, params=None, configs=None): what testbed_net brings "
        "up for this module (network: a network file relative to the module)")


@dataclass
class Setup:
    """What ``testbed_net`` brings up: the marker's choices with the command line's on top."""

    topology: str
    params: dict[str, Any] = field(default_factory=dict)
    configs: dict[str, Path] = field(default_factory=dict)


def setup_for(marker: dict[str, Any], module_dir: Path, topology: str | None, sets: list[str],
              configs: list[str], cwd: Path) -> Setup:
    """Merge the module's marker keywords with the command-line options (pure: unit-tested)."""
    name = topology or marker.get("topology")
    if name is None and marker.get("network"):   # a network file, relative to the module
        name = str(module_dir / marker["network"])
    if not name:
        raise TestbedError("testbed_net needs a topology: mark the module with pytest.mark.testbed(topology='hybrid') "
                           "or pytest.mark.testbed(network='net.yaml'), or pass --testbed-topology.")
    params = {**dict(marker.get("params") or {}), **parse_sets(sets)}
    files = {node: module_dir / path for node, path in (marker.get("configs") or {}).items()}
    files.update(node_files(configs, "--testbed-config", cwd))
    return Setup(name, params, files)


@pytest.fixture(scope="module")
def testbed_net(request: pytest.FixtureRequest) -> Iterator[Network]:
    """The module's network, converged; torn down after its last test."""
    if os.geteuid() != 0:
        pytest.skip("testbed_net needs root (network namespaces, FRR, strongSwan)")
    opt = request.config.getoption
    marker = request.node.get_closest_marker("testbed")
    try:
        setup = setup_for(marker.kwargs if marker else {}, request.path.parent, opt("--testbed-topology"),
                          opt("--testbed-set"), opt("--testbed-config"), request.config.invocation_params.dir)
        topo = catalog.build(setup.topology, setup.params)
        preflight.check(vpn=bool(topo.tunnels))
        net = Network(topo, run=opt("--testbed-run"), configs=setup.configs)
        net.__enter__()
    except TestbedError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        converge.wait_converged(net)
    except TestbedError as e:
        net.stop()
        pytest.fail(str(e), pytrace=False)
    try:
        yield net
    finally:
        net.stop()


class FaultSteps:
    """Fault steps for one test: ``fail(fault)`` breaks, ``restore()`` puts back (last first)."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.active: list[Fault] = []
        self.used = False

    def fail(self, fault: Fault) -> Event:
        fault.check(self.net.topo)
        event = fault.inject(self.net)
        self.active.append(fault)
        self.used = True
        return event

    def restore(self, fault: Fault | None = None) -> list[Event]:
        """Restore ``fault``, or every fault still failed (in reverse order)."""
        targets = [fault] if fault is not None else list(reversed(self.active))
        events = []
        for f in targets:
            events.append(f.restore(self.net))
            self.active.remove(f)
        return events

    def settle(self) -> None:
        """Restore what is left and wait until the network is converged again."""
        self.restore()
        if self.used:
            timeout = self.net.topo.params["converge.timeout_s"]
            try:
                converge.wait_stages(self.net, time.monotonic(), timeout,
                                     stages=[*converge.stages_for(self.net), ("bfd", converge.bfd_peers)])
            except TimeoutError as e:
                raise TestbedError(f"the network did not return to its converged state within {timeout} s "
                                   f"after the test's faults were restored ({e}).") from e


@pytest.fixture
def testbed_faults(testbed_net: Network) -> Iterator[FaultSteps]:
    steps = FaultSteps(testbed_net)
    try:
        yield steps
    finally:
        steps.settle()
