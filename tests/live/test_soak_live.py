"""`testbed soak` on real FRR: health lines per block and the verdict; a soak killed with -9
after its second trial goes on with --resume and loses at most the trial in flight."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hostcheck
from testbed.results.store import load_summary

# alone: any process in a namespace no run claims counts as left behind
pytestmark = [pytest.mark.integration, pytest.mark.alone]
REPO = Path(__file__).resolve().parents[2]
SOAK = [sys.executable, "-m", "testbed.ui.cli", "soak"]


def run_dir(out: Path) -> Path:
    found = list(out.glob("er-primary-blackhole/*/soak.json"))
    assert len(found) == 1, f"no soak under {out}"
    return found[0].parent


def test_soak_prints_a_health_line_per_block_and_holds(tmp_path):
    res = subprocess.run([*SOAK, "er-primary-blackhole", "--trials", "4", "--every", "2", "--name", "hssoak",
                          "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=240)
    out = " ".join(res.stdout.split())  # rich wraps long lines
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    assert "health after trial 2 (block 1): 0/2 failed, p50" in out
    assert "health after trial 4 (block 2): 0/2 failed, p50" in out and "(drift " in out
    assert "soak HELD" in out and "trials: 4 of 4 done, 0 failed" in out and "flaps outside fault windows: 0" in out
    assert "ce1/bgpd: RSS" in out and "time per trial: p50" in out
    d = run_dir(tmp_path)
    s = json.loads((d / "soak.json").read_text())
    assert s["held"] is True and s["stopped"] is None and [b["last_trial"] for b in s["blocks"]] == [2, 4]
    h = s["blocks"][-1]["health"]
    assert h["namespaces"] >= 8 and h["processes"] > 0 and h["files"] > 0
    assert {"ce1/bgpd", "ce1/bfdd", "msee1/zebra"} <= set(h["daemons"])
    assert all(v["rss_mib"] > 1 and v["fds"] > 3 for v in h["daemons"].values())
    assert load_summary(d)["trials_done"] == 4
    assert hostcheck.left_by("hssoak", set(), hostcheck.pids()) == []


def test_a_soak_killed_after_trial_2_resumes_and_loses_at_most_one(tmp_path):
    proc = subprocess.Popen([*SOAK, "er-primary-blackhole", "--trials", "4", "--every", "2", "--name", "hsresume",
                             "--out", str(tmp_path)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not list(tmp_path.glob("er-primary-blackhole/*/trials/002.json")) and time.monotonic() < deadline:
            assert proc.poll() is None, "the soak ended before its second trial"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    d = run_dir(tmp_path)
    before = sorted(p.name for p in (d / "trials").glob("*.json"))
    assert before[:2] == ["001.json", "002.json"]
    res = subprocess.run([*SOAK, "--resume", str(d)], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    summary = load_summary(d)
    assert summary["trials_done"] == 4 and [t["trial"] for t in summary["trials"]] == [1, 2, 3, 4]
    resumed = [n for n in summary["notes"] if n.startswith("resumed after")]
    assert resumed and resumed[0].startswith(f"resumed after {len(before)} trials")
    lost = re.search(r"\(trial ([\d, ]+) was in flight", resumed[0])  # run again: lost to the kill
    assert lost is None or len(lost.group(1).split(",")) == 1, resumed[0]
    s = json.loads((d / "soak.json").read_text())
    assert s["held"] is True and s["segment"] == 1 and "soak HELD" in res.stdout
    assert hostcheck.left_by("hsresume", set(), hostcheck.pids()) == []
