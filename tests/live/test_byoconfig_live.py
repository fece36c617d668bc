"""Bring your own config: the convention (config-template), the fit check and its one-sentence
refusals, the mapping, and the model following the user's config."""
from __future__ import annotations

import pytest
from policy_examples import topo, variant

from testbed.errors import TestbedError
from testbed.runtime import state


@pytest.mark.integration
def test_network_refuses_a_misfit_before_starting_anything(tmp_path):
    from testbed.runtime.net import Network
    bad = variant(tmp_path, "ce1", ("192.168.100.130", "192.168.100.2"))
    with pytest.raises(TestbedError, match="does not fit ce1 in hybrid"):
        with Network(topo(), run="polbyo", configs={"ce1": bad}):
            pass
    assert not state.run_dir("polbyo").exists()
