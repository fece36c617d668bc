"""Shared fixtures: skip integration tests without root, and give each test module its own run name."""
from __future__ import annotations

import os

import pytest


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
