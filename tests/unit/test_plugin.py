"""The pytest plugin: how a module's marker and the command line combine (no root), and a test
of the tests: the example policy tests pass with the example configs, and with the broken
variant exactly the right one fails, saying what is wrong (root: real FRR and strongSwan)."""
from __future__ import annotations

from pathlib import Path

import pytest

from testbed.errors import TestbedError
from testbed.plugin import setup_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "policy"


def test_marker_gives_the_defaults_and_the_command_line_wins(tmp_path):
    marker = {"topology": "hybrid", "params": {"bfd.interval_ms": 300, "er.premium": False},
              "configs": {"ce1": "ce1.conf", "vpn1": "vpn1.conf"}}
    s = setup_for(marker, EXAMPLE, topology=None, sets=["er.premium=true"],
                  configs=["vpn1=broken/vpn1.conf"], cwd=tmp_path)
    assert s.topology == "hybrid"
    assert s.params == {"bfd.interval_ms": 300, "er.premium": "true"}
    # marker paths are relative to the test module, command-line ones to where pytest runs
    assert s.configs == {"ce1": EXAMPLE / "ce1.conf", "vpn1": tmp_path / "broken/vpn1.conf"}
    assert setup_for(marker, EXAMPLE, "vpn", [], [], tmp_path).topology == "vpn"


def test_a_topology_is_required_and_options_are_checked(tmp_path):
    with pytest.raises(TestbedError, match="needs a topology"):
        setup_for({}, tmp_path, None, [], [], tmp_path)
    with pytest.raises(TestbedError, match="--testbed-config wants NODE=FILE"):
        setup_for({"topology": "hybrid"}, tmp_path, None, [], ["ce1.conf"], tmp_path)
