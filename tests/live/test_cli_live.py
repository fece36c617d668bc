"""The CLI as a user drives it: up -d, status, exec, vtysh, down, kill -9 + clean, and bad input.

Each command runs as a separate process, exactly as typed in a shell.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hostcheck import diff, snapshot

from testbed.runtime import state

# alone: the host is compared whole before and after
pytestmark = [pytest.mark.integration, pytest.mark.alone]
TESTBED = [sys.executable, "-m", "testbed.ui.cli"]


def tb(*args: str, timeout: float = 90, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*TESTBED, *args], capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture
def host_unchanged():
    before = snapshot()
    yield
    assert diff(before, snapshot()) == []


def test_up_status_exec_vtysh_down(host_unchanged):
    t0 = time.monotonic()
    up = tb("up", "expressroute", "-d", "--name", "clia")
    assert up.returncode == 0, up.stderr
    assert time.monotonic() - t0 < 10
    assert "converged in" in up.stdout or "up as run" in up.stdout
    try:
        st = json.loads(tb("status", "--json", "--name", "clia").stdout)
        assert all(b["state"] == "Established" for b in st["bgp"])
        core = [p for p in st["paths"] if p["node"] == "core"][0]
        assert sorted(core["via"]) == ["core-ce1", "core-ce2"]
        ping = tb("exec", "h1", "--name", "clia", "--", "ping", "-c1", "-W1", "10.10.1.4")
        assert ping.returncode == 0, ping.stdout
        v = tb("vtysh", "msee1", "--name", "clia", "-c", "show bgp summary json")
        assert json.loads(v.stdout)["ipv4Unicast"]["as"] == 12076
        again = tb("up", "expressroute", "-d", "--name", "clia")
        assert again.returncode == 1 and "already up" in again.stderr
    finally:
        down = tb("down", "--name", "clia")
    assert down.returncode == 0, down.stderr


def test_kill_9_then_clean_leaves_nothing(host_unchanged):
    up = tb("up", "expressroute", "-d", "--name", "clib")
    assert up.returncode == 0, up.stderr
    owner = state.read("clib")["owner_pid"]
    os.kill(owner, signal.SIGKILL)
    time.sleep(0.5)
    listed = tb("list")
    assert "clib" not in listed.stdout.split("Runs")[1]
    cleaned = tb("clean", "clib")  # its own run only: other runs on the machine stay up
    assert cleaned.returncode == 0 and "clib" in cleaned.stdout


@pytest.mark.parametrize("args, words", [
    (["up", "nosuchtopo"], "unknown topology 'nosuchtopo'"),
    (["up", "expressroute", "--set", "onprem.asn=65515"], "reserved by Azure"),
    (["up", "expressroute", "--set", "onprem.asn=12076"], "reserved by Azure"),
    (["up", "expressroute", "--set", "vnet.prefix=10.20.0.0/16", "--set", "vnet.subnet=10.20.1.0/24"], "overlaps"),
    (["up", "expressroute", "--set", "bfd.interval=100"], "unknown parameter"),
    (["up", "expressroute", "--config", "ce1=/nonexistent.conf"], "does not exist"),
    (["up", "expressroute", "--config", "zz9=/etc/hosts"], "not a router"),
])
def test_bad_input_one_sentence_nonzero_nothing_left(args, words, host_unchanged):
    res = tb(*args, "--name", "clic")
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], res.stderr


@pytest.mark.parametrize("load", [["--flows", "0"], ["--flows", "257"], ["--rate", "0"]])
def test_run_refuses_a_probe_load_out_of_range(load, host_unchanged):
    res = tb("run", "er-primary-link-down", *load)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "--flows must be 1 to 256 and --rate above 0" in lines[0], res.stderr


def test_broken_frr_config_is_caught_by_dry_run(tmp_path, host_unchanged):
    bad = tmp_path / "edge.conf"
    bad.write_text("router bgp 65020\n neighbor 192.168.100.130 remote-as\n")
    res = tb("up", "expressroute", "--name", "clid", "--config", f"ce1={bad}")
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    # one sentence naming the file and the line FRR refused
    assert len(lines) == 1 and f"FRR config {bad} does not parse (line 2:" in lines[0], res.stderr


def test_not_root_is_refused(host_unchanged):
    res = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          *TESTBED, "up", "expressroute"], capture_output=True, text=True,
                         env={**os.environ, "HOME": "/tmp"})
    assert res.returncode == 1
    assert res.stderr.strip() == "testbed: testbed needs root (it creates network namespaces and runs FRR): run it with sudo."


def test_missing_package_names_the_package(monkeypatch):
    from testbed.system import preflight
    monkeypatch.setitem(preflight.BASE, "/usr/lib/frr/nosuchd", "frr-nosuch")
    from testbed.errors import TestbedError
    with pytest.raises(TestbedError, match="missing system package.s. frr-nosuch: run 'scripts/setup.sh'"):
        preflight.check()
