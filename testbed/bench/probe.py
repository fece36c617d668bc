"""The probes' CPU cost: the runner's probe pair (h1 <-> vm1, each sending to the other) at a
given load, utime + stime of both processes from ``/proc`` over fixed windows.

Cost is stated per 1,000 packets/s, each packet counted once (its sender's and its receiver's
work together). The probe wakes once per interval and sends one packet on every flow, so the
cost per packet falls as flows per wake-up grow: figures are kept per (flows, rate) load.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from testbed.bench.series import Series
from testbed.measure import flowplan, probepair
from testbed.runtime.net import Network
from testbed.system.procs import cpu_s

ENDS = ("h1", "vm1")
WARMUP_S = 0.5  # past the interpreter's start-up, which is not the steady cost


def probe_cpu(net: Network, flows: int, rate: float, windows: int, window_s: float) -> dict[str, Any]:
    """CPU of the probe pair at ``flows`` x ``rate`` packets/s per direction."""
    pps = 2 * flows * rate  # both directions
    percent, per_kpps = Series("% of one core"), Series("% of one core per 1,000 packets/s")
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp:
        with probepair.probes(net, ENDS, Path(tmp), flowplan.default_ports(flows), rate) as files:
            pids = [json.loads(Path(f"{f}.json").read_text())["pid"] for f in files.values()]
            time.sleep(WARMUP_S)
            for _ in range(windows):
                before, t0 = sum(cpu_s(p) for p in pids), time.monotonic()
                time.sleep(window_s)
                used = sum(cpu_s(p) for p in pids) - before
                share = 100.0 * used / (time.monotonic() - t0)
                percent.add(share)
                per_kpps.add(share / (pps / 1000))
    return {"flows": flows, "rate_pps_per_flow": rate, "packets_per_s": pps,
            "cpu_percent": percent.to_dict(), "cpu_percent_per_1000pps": per_kpps.to_dict()}
