"""Shared fixtures: skip integration tests without root, give each test module its own run name,
and put the signal handlers back after each test."""
from __future__ import annotations

import os

import pytest


def pytest_itemcollected(item):
    # in parallel (scripts/test.sh: xdist --dist loadgroup) a live module's tests stay on one
    # worker (they share a module's network or run name) unless they name their own group;
    # marked here, as each is collected, before xdist reads the marks
    if "tests/live/" in item.nodeid and item.get_closest_marker("xdist_group") is None:
        item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="integration test: needs root (namespaces, FRR, strongSwan)")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


# tests import small helpers (hostcheck) from this folder
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def signal_handlers_restored():
    """A test that runs the CLI in process gets its signal handlers (Ctrl-C raises Interrupted,
    for the CLI's clean-up); put pytest's back, or a Ctrl-C later fails one test instead of
    stopping the run."""
    import signal
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for sig, handler in kept.items():
        signal.signal(sig, handler)
