"""How big a topology fits: a chain of N eBGP routers (``topologies/chain.py``), N doubled
until the bring-up to converged exceeds ``LIMIT_S``, the next step would not fit in the memory
left, or the cap is reached. Each N is brought up once (a step costs up to minutes at the top);
a step that exceeds the limit is still waited for up to twice the limit, to report its time.
"""
from __future__ import annotations

import time
from typing import Any

from testbed.bench.memory import node_memory
from testbed.errors import TestbedError
from testbed.model import catalog
from testbed.observe import converge
from testbed.runtime.net import Network
from testbed.system.procs import load_1min, meminfo_mib

LIMIT_S = 60.0
MEMORY_SHARE = 0.8  # a step may use at most this share of the memory available before it


def chain_step(routers: int, run: str) -> dict[str, Any]:
    """Bring a chain of ``routers`` up once: time to converged, memory, teardown."""
    available = meminfo_mib("MemAvailable")
    step: dict[str, Any] = {"routers": routers, "mem_available_before_mib": round(available), "bringup_s": None}
    try:
        with Network(catalog.build("chain", {"chain.routers": routers}), run=run) as net:
            started_s = time.monotonic() - net.t0
            step["started_s"] = round(started_s, 2)
            try:
                conv = converge.wait_converged(net, timeout=max(1.0, 2 * LIMIT_S - started_s))
            except TestbedError as e:  # not converged within twice the limit
                step.update(gave_up_after_s=round(time.monotonic() - net.t0, 1), error=str(e)[:300])
            else:
                used = available - meminfo_mib("MemAvailable")
                rss = sum(row["total"] for row in node_memory(net).values())
                step.update(bringup_s=conv.total_s, stages_s=conv.stages, mem_used_mib=round(used),
                            mib_per_router=round(used / routers, 2), frr_rss_mib_per_router=round(rss / routers, 2))
            step["load_1min"] = load_1min()
            t0 = time.monotonic()
        step["teardown_s"] = round(time.monotonic() - t0, 2)
    except TestbedError as e:  # could not even start
        step.update(error=str(e)[:300], load_1min=load_1min())
    step["fits"] = step["bringup_s"] is not None and step["bringup_s"] <= LIMIT_S
    return step


def chain_fit(start: int, cap: int, run: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    routers, stop = start, f"reached the cap of {cap} routers"
    while routers <= cap:
        if steps and "mib_per_router" in steps[-1]:
            need = steps[-1]["mib_per_router"] * routers
            if need > MEMORY_SHARE * meminfo_mib("MemAvailable"):
                stop = f"{routers} routers would need about {need:.0f} MiB: memory runs short"
                break
        step = chain_step(routers, run)
        steps.append(step)
        if not step["fits"]:
            if step["bringup_s"] is not None:
                stop = f"{routers} routers: bring-up {step['bringup_s']:.1f} s exceeds {LIMIT_S:.0f} s"
            elif "gave_up_after_s" in step:
                stop = f"{routers} routers: not converged {step['gave_up_after_s']:.0f} s after the start"
            else:
                stop = f"{routers} routers could not start: {step['error']}"
            break
        routers *= 2
    fitting = [s["routers"] for s in steps if s["fits"]]
    return {"topology": "chain", "limit_s": LIMIT_S, "steps": steps,
            "largest_fitting": max(fitting, default=None), "stopped": stop}
