"""Bring your own config: the convention (config-template), the fit check and its one-sentence
refusals, the mapping, and the model following the user's config."""
from __future__ import annotations

from pathlib import Path

import pytest

from testbed.model import catalog
from testbed.runtime import state
from testbed.errors import TestbedError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy"


def topo():
    return catalog.build("hybrid")


def variant(tmp_path: Path, node: str, *changes: tuple[str, str]) -> Path:
    text = (EXAMPLE / f"{node}.conf").read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{node}.conf"
    path.write_text(text)
    return path


@pytest.mark.integration
def test_network_refuses_a_misfit_before_starting_anything(tmp_path):
    from testbed.runtime.net import Network
    bad = variant(tmp_path, "ce1", ("192.168.100.130", "192.168.100.2"))
    with pytest.raises(TestbedError, match="does not fit ce1 in hybrid"):
        with Network(topo(), run="polbyo", configs={"ce1": bad}):
            pass
    assert not state.run_dir("polbyo").exists()
