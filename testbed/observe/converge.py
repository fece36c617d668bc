"""Convergence checks in the topotests spirit: each check returns what is still wrong (empty =
good), and ``wait_for`` polls a set of checks with a deadline."""
from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Callable, TYPE_CHECKING

from testbed.system import kernel

if TYPE_CHECKING:
    from testbed.runtime.net import Network

Check = Callable[["Network"], list[str]]


def bgp_sessions(net: "Network") -> list[str]:
    """Every configured BGP session is Established."""
    wrong = []
    for name, r in net.topo.routers.items():
        summary = net.frr[name].json("show bgp ipv4 unicast summary json")
        peers = summary.get("peers", {}) if isinstance(summary, dict) else {}
        for n in r.neighbors:
            state = peers.get(n.addr, {}).get("state", "missing")
            if state != "Established":
                wrong.append(f"{name}: BGP {n.label} to {n.peer} ({n.addr}) is {state}")
    return wrong


def bfd_peers(net: "Network") -> list[str]:
    """Every BGP session configured with BFD has its BFD session up."""
    wrong = []
    for name, r in net.topo.routers.items():
        want = {n.addr: n for n in r.neighbors if n.bfd}
        if not want:
            continue
        peers = net.frr[name].json("show bfd peers json")
        seen = {p.get("peer"): p.get("status") for p in peers} if isinstance(peers, list) else {}
        for addr, n in want.items():
            if seen.get(addr) != "up":
                wrong.append(f"{name}: BFD to {n.peer} ({addr}) is {seen.get(addr, 'missing')}")
    return wrong


def fib_routes(net: "Network") -> list[str]:
    """The expected prefixes are in each router's kernel FIB with enough next hops (ECMP),
    over the expected links where the topology names them."""
    wrong = []
    by_node: dict[str, list] = {}
    for e in net.topo.fib:
        by_node.setdefault(e.node, []).append(e)
    for node, expectations in by_node.items():
        with kernel.netlink(net.pid(node)) as ipr:
            table = kernel.fib(ipr)
        for e in expectations:
            hops = table.get(str(ipaddress.IPv4Network(e.prefix)), [])
            problem = e.problem(net.topo.hop_names(node, hops))
            if problem:
                wrong.append(f"{node}: {e.prefix} {problem}")
    return wrong


def reachability(net: "Network") -> list[str]:
    """Each host reaches its peers (one ping each)."""
    return [f"{src} cannot reach {dst}" for src, dst in net.topo.reach if not net.ping(src, dst)]


STAGES: list[tuple[str, Check]] = [
    ("bgp", bgp_sessions), ("bfd", bfd_peers), ("fib", fib_routes), ("reach", reachability),
]


class FibsStill:
    """A stage that holds once no router's kernel FIB has changed for ``quiet_s``."""

    def __init__(self, quiet_s: float) -> None:
        self.quiet_s = quiet_s
        self.last: dict | None = None
        self.since = 0.0

    def __call__(self, net: "Network") -> list[str]:
        snap = {}
        for node in net.topo.routers:
            with kernel.netlink(net.pid(node)) as ipr:
                snap[node] = kernel.fib(ipr)
        now = time.monotonic()
        if snap != self.last:
            self.last, self.since = snap, now
        if now - self.since < self.quiet_s:
            return [f"the FIBs changed less than {self.quiet_s:g} s ago"]
        return []


def stages_for(net: "Network") -> list[tuple[str, Check]]:
    return STAGES + ([("stable", FibsStill(net.topo.quiet_s))] if net.topo.quiet_s else [])


@dataclass
class Convergence:
    """Seconds from ``t0`` at which each stage first held, and the total."""

    stages: dict[str, float] = field(default_factory=dict)
    total_s: float = 0.0


def wait_converged(net: "Network", t0: float, timeout: float, interval: float = 0.1,
                   stages: list[tuple[str, Check]] | None = None) -> Convergence:
    """Poll the stages in order until all hold; raise ``TimeoutError`` listing what is still wrong."""
    result = Convergence()
    deadline = time.monotonic() + timeout
    pending = list(stages if stages is not None else stages_for(net))
    wrong: list[str] = []
    while pending:
        name, check = pending[0]
        wrong = check(net)
        if not wrong:
            result.stages[name] = round(time.monotonic() - t0, 3)
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            raise TimeoutError("; ".join(wrong[:6]) + (f" (+{len(wrong) - 6} more)" if len(wrong) > 6 else ""))
        time.sleep(interval)
    result.total_s = round(time.monotonic() - t0, 3)
    return result
