"""The bad-input corpus: what a user gets wrong on the command line, in parameters, network
files, own configs, lint, labs and report. Each case must end in exit code 1 and exactly one
line on stderr (no traceback), and leave nothing behind: no run directory, no work directory,
no named network namespace, no file in the working directory.

Most cases call the CLI's ``main()`` in this process (milliseconds, no root: the state roots
point at a temporary directory); the few that would start a network (``up``, ``run``) run as
``python -m testbed.ui.cli`` (root only, as the commands themselves are).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.runtime import state
from testbed.ui import cli

REPO = Path(__file__).resolve().parents[2]
GOOD = (Path(__file__).parent / "networks" / "good.yaml").read_text()
root = pytest.mark.skipif(os.geteuid() != 0, reason="the command needs root before it reads its input")

# files a case may name as {tmp}/NAME
FILES = {
    "bad.yaml": "name: [mine\n",
    "list.yaml": "- name: mine\n",
    "empty.yaml": "",
    "asn.yaml": GOOD.replace("asn: 65010", "asn: 65515", 1),
    "overlap.yaml": GOOD.replace("[10.1.0.0/16]", "[10.10.0.0/16]", 1),
    "unknown-key.yaml": GOOD.replace("  asn: 65010\n", "  asn: 65010\n  colour: red\n", 1),
    "twice.yaml": GOOD.replace("{name: ce2}", "{name: ce1}", 1),
    "subnet.yaml": GOOD.replace("192.168.100.128/29", "192.168.100.128/30", 1),
    "noconf.yaml": GOOD.replace("{name: ce1}", "{name: ce1, config: ce1.conf}", 1),
    "nohost.yaml": GOOD.replace("      hosts:\n        - {name: h1, router: core, subnet: 10.1.1.0/24}\n", "", 1),
    "bad.toml": "bfd = [\n",
    "typo.toml": "[bfd]\ninterval = 100\n",
    "bad.json": "{\"bfd.interval_ms\": }",
    "stranger.conf": "router bgp 65020\n neighbor 1.2.3.4 remote-as 65515\n",
    "unparsable.conf": "router bgp 65020\n neighbor 192.168.100.130 remote-as\n",
}

# (id, argv, words the one line must hold); {tmp} is the case's directory
CASES = [
    # --- the command line itself
    ("no command", [], "the following arguments are required: COMMAND"),
    ("unknown command", ["nosuch"], "invalid choice: 'nosuch'"),
    ("unknown option", ["list", "--colour"], "unrecognized arguments: --colour"),
    ("trials zero", ["run", "er-primary-blackhole", "--trials", "0"], "at least 1, not '0'"),
    ("trials negative", ["run", "er-primary-blackhole", "--trials", "-3"], "at least 1, not '-3'"),
    ("trials not a number", ["run", "er-primary-blackhole", "--trials", "many"], "at least 1, not 'many'"),
    ("flows not a number", ["run", "er-primary-blackhole", "--flows", "x"], "invalid int value: 'x'"),
    ("unknown scenario", ["run", "nosuch"], "unknown scenario 'nosuch'"),
    ("flows zero", ["run", "er-primary-blackhole", "--flows", "0"], "--flows must be 1 to"),
    ("rate zero", ["run", "er-primary-blackhole", "--rate", "0"], "--rate above 0"),
    ("run name with a slash", ["status", "--name", "bad name/.."], "run name 'bad name/..' is not valid"),
    ("run name too long", ["down", "--name", "abcdefghijklmn"], "is not valid"),
    ("run name upper case", ["lab", "check", "--name", "LAB"], "is not valid"),
    ("unknown topology", ["validate", "nosuchtopo"], "unknown topology 'nosuchtopo'"),
    ("graph of an unknown topology", ["graph", "nosuch"], "unknown topology 'nosuch'"),
    ("import from no folder", ["import", "azure", "{tmp}/none", "-o", "{tmp}/x.yaml"], "is not a folder"),
    ("calibrate bad outages", ["calibrate", "--outages", "x,y"], "--outages wants positive milliseconds"),
    ("calibrate no repeats", ["calibrate", "--repeats", "0"], "--repeats at least 1"),
    # --- parameters
    ("--set typo", ["validate", "expressroute", "--set", "bfd.interval=100"], "unknown parameter 'bfd.interval'"),
    ("--set not an int", ["validate", "expressroute", "--set", "msee.prefix_limit=abc"], "wants a int (like 4000), not 'abc'"),
    ("--set not a bool", ["validate", "expressroute", "--set", "er.premium=perhaps"], "wants a bool"),
    ("--set no value", ["validate", "expressroute", "--set", "onprem.asn"], "--set wants KEY=VALUE"),
    ("--set no key", ["validate", "expressroute", "--set", "=5"], "--set wants KEY=VALUE"),
    ("--set reserved ASN", ["validate", "expressroute", "--set", "onprem.asn=65515"], "reserved by Azure"),
    ("--set MSEE ASN", ["validate", "expressroute", "--set", "onprem.asn=12076"], "reserved by Azure"),
    ("--set negative ASN", ["validate", "expressroute", "--set", "onprem.asn=-5"], "is not a valid AS number"),
    ("--set overlapping ranges", ["validate", "expressroute", "--set", "vnet.prefix=10.20.0.0/16",
                                  "--set", "vnet.subnet=10.20.1.0/24"], "overlaps"),
    ("--set a subnet outside its VNet", ["validate", "expressroute", "--set", "vnet.prefix=10.20.0.0/16"], "is not inside"),
    ("--set not a prefix", ["validate", "expressroute", "--set", "vnet.prefix=10.300.0.0/16"], "is not an IPv4 prefix"),
    ("--params missing", ["validate", "expressroute", "--params", "{tmp}/none.toml"], "cannot read params file"),
    ("--params bad TOML", ["validate", "expressroute", "--params", "{tmp}/bad.toml"], "does not parse"),
    ("--params bad JSON", ["validate", "expressroute", "--params", "{tmp}/bad.json"], "does not parse"),
    ("--params typo", ["validate", "expressroute", "--params", "{tmp}/typo.toml"], "unknown parameter 'bfd.interval'"),
    ("params of an unknown topology", ["params", "nosuch"], "unknown topology 'nosuch'"),
    # --- network files
    ("network file missing", ["validate", "{tmp}/none.yaml"], "cannot read network file"),
    ("network file bad YAML", ["validate", "{tmp}/bad.yaml"], "the YAML does not parse"),
    ("network file a list", ["validate", "{tmp}/list.yaml"], "a network file is a mapping of keys"),
    ("network file empty", ["validate", "{tmp}/empty.yaml"], "is empty: describe the network"),
    ("network file reserved ASN", ["validate", "{tmp}/asn.yaml"], "reserved by Azure"),
    ("network file address clash", ["validate", "{tmp}/overlap.yaml"], "overlaps 10.10.0.0/16"),
    ("network file unknown key", ["validate", "{tmp}/unknown-key.yaml"], "onprem.colour is not a key here"),
    ("network file a node twice", ["validate", "{tmp}/twice.yaml"], "names a second node"),
    ("network file peering /30", ["validate", "{tmp}/subnet.yaml"], "must be a /29"),
    ("network file without a host", ["validate", "{tmp}/nohost.yaml"], "onprem.sites has no host for the probe traffic"),
    ("network file config missing", ["validate", "{tmp}/noconf.yaml"], "which is not a file"),
    ("run on a bad network file", ["run", "er-primary-blackhole", "--network", "{tmp}/bad.yaml",
                                   "--out", "{tmp}/results"], "the YAML does not parse"),
    # --- own (BYO) configs and lint
    ("config template for no router", ["config-template", "zz9", "expressroute"], "'zz9' is not an on-prem router"),
    ("config template of an Azure router", ["config-template", "msee1", "expressroute"], "is not an on-prem router"),
    ("lint nothing", ["lint"], "lint wants FRR config files"),
    ("lint a missing file", ["lint", "{tmp}/none.conf"], "cannot read config"),
    ("lint a bad network file", ["lint", "--network", "{tmp}/bad.yaml"], "the YAML does not parse"),
    ("lint a network file without configs", ["lint", "--network", "{tmp}/asn.yaml"], "--network FILE whose routers name configs"),
    # --- labs, runs and results
    ("lab unknown", ["lab", "start", "99"], "no lab '99'"),
    ("lab start without a number", ["lab", "start"], "the following arguments are required: lab"),
    ("lab check with no lab up", ["lab", "check", "--name", "hdnolab"], "start one with 'testbed lab start N'"),
    ("lab solve with no lab up", ["lab", "solve", "--name", "hdnolab"], "testbed lab start N"),
    ("lab reset with no lab up", ["lab", "reset", "--name", "hdnolab"], "testbed lab start N"),
    ("status of no run", ["status", "--name", "hdnone"], "no testbed run named 'hdnone' is up"),
    ("exec in no run", ["exec", "h1", "--name", "hdnone", "--", "true"], "no testbed run named 'hdnone' is up"),
    ("vtysh in no run", ["vtysh", "ce1", "--name", "hdnone"], "no testbed run named 'hdnone' is up"),
    ("down of no run", ["down", "--name", "hdnone"], "no testbed run named 'hdnone' is up"),
    ("report of no results", ["report", "{tmp}"], "no run results (summary.json)"),
    ("report of a missing folder", ["report", "{tmp}/none"], "no run results (summary.json)"),
    ("bench to a path it cannot make", ["bench", "--quick", "--out", "/proc/nope"], "cannot make the results directory"),
    ("run to a path it cannot make", ["run", "er-primary-blackhole", "--out", "/proc/nope"], "cannot make the results directory"),
    # --- soak
    ("soak of nothing", ["soak"], "soak wants a scenario (testbed soak SCENARIO --trials N) or --resume DIR"),
    ("soak of a scenario and a resume", ["soak", "er-primary-blackhole", "--resume", "{tmp}"], "one of the two"),
    ("soak of an unknown scenario", ["soak", "nosuch"], "unknown scenario 'nosuch'"),
    ("soak blocks of zero", ["soak", "er-primary-blackhole", "--every", "0"], "at least 1, not '0'"),
    ("soak to a path it cannot make", ["soak", "er-primary-blackhole", "--out", "/proc/nope"], "cannot make the results directory"),
    ("soak resume of a folder with no soak", ["soak", "--resume", "{tmp}"], "holds no readable soak.json"),
]
NEEDS_ROOT = {"lab check with no lab up", "lab solve with no lab up", "lab reset with no lab up", "status of no run",
              "exec in no run", "vtysh in no run", "down of no run", "calibrate bad outages", "calibrate no repeats",
              "run on a bad network file", "soak resume of a folder with no soak"}


@pytest.fixture
def case_dir(tmp_path, monkeypatch):
    """A directory holding the corpus' files, as the working directory, with the run and work
    roots inside it (so that whatever a command leaves is seen, and other runs are not)."""
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(state, "ROOT", tmp_path / "run")
    monkeypatch.setattr(state, "WORK_ROOT", tmp_path / "work")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    yield tmp_path
    for sig, handler in handlers.items():  # `run` installs its own before it reads the network file
        signal.signal(sig, handler)


def netns() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def assert_one_line_and_nothing_left(rc: int, err: str, words: str, where: Path, netns_before: str) -> None:
    lines = err.strip().splitlines()
    assert rc == 1, err
    assert len(lines) == 1 and lines[0].startswith("testbed: ") and "Traceback" not in err, err
    assert words in lines[0], lines[0]
    assert sorted(p.name for p in where.iterdir()) == sorted(FILES), "left behind"
    assert netns() == netns_before


@pytest.mark.parametrize("what, argv, words",
                         [pytest.param(*c, marks=[root] if c[0] in NEEDS_ROOT else []) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_1_and_nothing_left(what, argv, words, case_dir, capsys):
    before = netns()
    rc = cli.main([a.format(tmp=case_dir) for a in argv])
    assert_one_line_and_nothing_left(rc, capsys.readouterr().err, words, case_dir, before)


def test_the_corpus_is_at_least_forty_cases():
    assert len(CASES) + len(LIVE_CASES) >= 40


def test_an_unexpected_exception_is_one_line_naming_the_log_with_its_traceback(case_dir, capsys, monkeypatch):
    """A bug (any exception but TestbedError) is reported as one: one line, the traceback in a log."""
    import tempfile

    from testbed.ui import topologies
    monkeypatch.setattr(tempfile, "tempdir", str(case_dir / "logs"))
    (case_dir / "logs").mkdir()

    def broken(args):
        raise KeyError("boom")
    monkeypatch.setattr(topologies, "cmd_validate", broken)
    rc = cli.main(["validate", "expressroute"])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "internal error (KeyError: 'boom'), a testbed bug: please report it" in err
    (log,) = (case_dir / "logs").iterdir()
    assert str(log) in err and "Traceback (most recent call last)" in log.read_text()
    assert "raise KeyError" in log.read_text() and log.read_text().startswith("testbed validate expressroute")


# --- the commands that would start a network: a process of their own, as root ---------------
LIVE_CASES = [
    ("up with a bad run name", ["up", "expressroute", "-d", "--name", "bad name/.."], "run name 'bad name/..' is not valid"),
    ("up an unknown topology", ["up", "nosuchtopo", "--name", "hdbad"], "unknown topology 'nosuchtopo'"),
    ("up with a --set typo", ["up", "expressroute", "--name", "hdbad", "--set", "bfd.interval=100"], "unknown parameter"),
    ("up with a missing config", ["up", "expressroute", "--name", "hdbad", "--config", "ce1=/nonexistent.conf"],
     "does not exist"),
    ("up with a config for no router", ["up", "expressroute", "--name", "hdbad", "--config", "zz9=/etc/hosts"],
     "not a router"),
    ("up with NODE=FILE wrong", ["up", "expressroute", "--name", "hdbad", "--config", "ce1"], "--config wants NODE=FILE"),
    ("up with a config peering with a stranger", ["up", "expressroute", "--name", "hdbad", "--config",
                                                  "ce1={tmp}/stranger.conf"], "which is not a peer of ce1"),
    ("up with a config FRR cannot parse", ["up", "expressroute", "-d", "--name", "hdbad", "--config",
                                           "ce1={tmp}/unparsable.conf"], "does not parse (line 2:"),
]


@root
@pytest.mark.parametrize("what, argv, words", LIVE_CASES, ids=[c[0] for c in LIVE_CASES])
def test_bad_input_to_up_is_one_line_exit_1_and_nothing_left(what, argv, words, tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TESTBED_RUNDIR": str(tmp_path / "run"),
           "TESTBED_WORKDIR": str(tmp_path / "work")}
    before = netns()
    res = subprocess.run([sys.executable, "-m", "testbed.ui.cli", *[a.format(tmp=tmp_path) for a in argv]],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    # the lock file a refused run took is gone with it too: the run root is empty, or absent
    left = [p.name for p in (tmp_path / "run").glob("*")] + [p.name for p in (tmp_path / "work").glob("*")]
    assert left == []
    for made in (tmp_path / "run", tmp_path / "work"):
        if made.exists():
            made.rmdir()
    assert_one_line_and_nothing_left(res.returncode, res.stderr, words, tmp_path, before)
    assert not list(Path("/var/run/frr").glob("hdbad-*"))


def test_a_run_whose_process_was_killed_is_named_with_the_command_that_cleans_it(tmp_path, monkeypatch):
    from testbed.errors import TestbedError
    from testbed.runtime import state
    monkeypatch.setattr(state, "read", lambda run: {"owner_pid": 2 ** 22 + 7})   # no such process
    with pytest.raises(TestbedError, match=r"'gone' is not up any more .* 'testbed clean gone'\.$"):
        state.require_running("gone")
