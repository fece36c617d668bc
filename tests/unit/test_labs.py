"""Training labs: every lab is well formed, every check fails on its starting state and passes
after ``testbed lab solve`` (real FRR and strongSwan, driven through the CLI as a trainer would).

One lab is up at a time: the whole file takes about two to three minutes.
"""

import pytest

from testbed.daemons.byoconfig import with_logfile
from testbed.daemons.frr import dry_run
from testbed.errors import TestbedError
from testbed.labs import lab as labs
from testbed.model import catalog


# --- well formed (no root) --------------------------------------------------------------------
def test_there_are_six_labs_numbered_in_order():
    assert len(labs.names()) >= 6
    assert [labs.load(n).number for n in labs.names()] == list(range(1, len(labs.names()) + 1))


@pytest.mark.parametrize("name", labs.names())
def test_lab_is_complete(name):
    lab = labs.load(name)
    topo = catalog.build(lab.topology, lab.params)
    assert lab.tasks and all(t.title and t.hint for t in lab.tasks)
    assert lab.start_configs(), "a lab starts from at least one broken or unfinished router"
    assert set(lab.solutions()) <= set(lab.start_configs()), "the solution fixes the routers the trainee owns"
    assert set(lab.start_configs()) <= set(topo.routers)
    readme = (lab.dir / "README.md").read_text()
    for section in ("**Goal**", "## Tasks", "## Hints", "topology.png", "```"):
        assert section in readme, f"{name}/README.md lacks {section}"
    assert (lab.dir / "topology.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", labs.names())
def test_start_configs_and_solutions_parse(name, tmp_path):
    lab = labs.load(name)
    for node, path in lab.start_configs().items():
        conf = tmp_path / f"{node}.conf"
        conf.write_text(with_logfile(path.read_text(), str(tmp_path / "frr.log")))
        dry_run(conf)
    for node, path in lab.solutions().items():
        dry_run(path)


def test_load_by_number_or_name_and_refuse_others():
    assert labs.load("1").name == labs.load("01").name == labs.names()[0]
    assert labs.load(labs.names()[2]).number == 3
    with pytest.raises(TestbedError, match="no lab '99'"):
        labs.load("99")


def test_logfile_line_goes_after_frr_defaults_and_replaces_others():
    conf = "! c\nfrr defaults traditional\nlog file /x.log\nhostname a\n"
    out = with_logfile(conf, "/run/r/a/frr.log").splitlines()
    assert out[:3] == ["! c", "frr defaults traditional", "log file /run/r/a/frr.log informational"]
    assert "log file /x.log" not in out
