"""Convergence in the topotests spirit: each stage is a check that returns what is still wrong
(empty = good); ``wait_converged`` polls them in order with one deadline and marks the run up.

Converged means forwarding: BGP sessions Established, the FIBs complete, the hosts reaching
each other. BFD is checked apart, after them (forwarding does not wait for it, and bfdd
leaves its slow start about a second after BGP is up: a BFD session that never comes up is
still an error)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

from testbed.errors import TestbedError
from testbed.model.topo import Neighbor
from testbed.observe import fib, md5, peers
from testbed.system.poll import Steady, poll

if TYPE_CHECKING:
    from testbed.runtime.net import Network

Check = Callable[["Network"], list[str]]
#: how long a session's MD5 drops must keep growing before the wait gives up on it: a key
#: mismatch does not heal, but a peer may send a segment or two before its key is set
MD5_STUCK_S = 3.0


class Stuck(TimeoutError):
    """A stage cannot hold however long the wait: the message says why."""


def _down(net: "Network") -> Iterator[tuple[str, Neighbor, str, md5.Mismatch | None]]:
    """Each configured BGP session that is not Established (but a standby instance's, which
    wait for its takeover): router, neighbor, state, and the MD5 mismatch behind it if any."""
    for name, r in net.topo.routers.items():
        if r.standby_for:
            continue
        seen = peers.bgp(net, name) if r.neighbors else {}
        for n in r.neighbors:
            state = seen.get(n.addr, {}).get("state", "missing")
            if state != "Established":
                yield name, n, state, md5.mismatch(net, name, n)


def _line(name: str, n: Neighbor, state: str, why: md5.Mismatch | None) -> str:
    return f"{name}: BGP {n.label} to {n.peer} ({n.addr}) is {state}" + (f" ({why.sentence})" if why else "")


def bgp_sessions(net: "Network") -> list[str]:
    """Every configured BGP session is Established."""
    return [_line(*down) for down in _down(net)]


def bgp_stage(net: "Network") -> Check:
    """``bgp_sessions``, which raises ``Stuck``, naming every session with MD5 drops, once one
    session's drops have kept growing for ``MD5_STUCK_S``."""
    first: dict[tuple[str, str], tuple[float, int]] = {}

    def check(_net: "Network") -> list[str]:
        wrong, mismatched, stuck = [], [], False
        for name, n, state, why in _down(net):
            wrong.append(_line(name, n, state, why))
            if why:
                mismatched.append(why.sentence)
                since, drops = first.setdefault((name, n.label), (time.monotonic(), why.drops))
                stuck |= time.monotonic() - since >= MD5_STUCK_S and why.drops > drops
        if stuck:       # name every mismatched session, not only the first to reach the limit
            raise Stuck("; ".join(dict.fromkeys(mismatched)))
        return wrong
    return check


def bfd_peers(net: "Network") -> list[str]:
    """Every BGP session configured with BFD has its BFD session up."""
    wrong = []
    for name, r in net.topo.routers.items():
        want = {n.addr: n for n in r.neighbors if n.bfd}
        if not want:
            continue
        seen = peers.bfd(net, name)
        for addr, n in want.items():
            status = seen.get(addr, {}).get("status", "missing")
            if status != "up":
                wrong.append(f"{name}: BFD to {n.peer} ({addr}) is {status}")
    return wrong


def fib_routes(net: "Network") -> list[str]:
    """The expected prefixes are in each router's kernel FIB with enough next hops (ECMP),
    over the expected links where the topology names them."""
    tables = fib.tables(net, (e.node for e in net.topo.fib))
    wrong = []
    for e in net.topo.fib:
        problem = e.problem(fib.via(net, e.node, e.prefix, tables[e.node]))
        if problem:
            wrong.append(f"{e.node}: {e.prefix} {problem}")
    return wrong


def reachability(net: "Network") -> list[str]:
    """Each host reaches its peers (one ping each)."""
    return [f"{src} cannot reach {dst}" for src, dst in net.topo.reach if not net.ping(src, dst)]


STAGES: list[tuple[str, Check]] = [("fib", fib_routes), ("reach", reachability)]


def fibs_still(net: "Network") -> Check:
    """A stage that holds once no router's kernel FIB has changed for ``topo.quiet_s``."""
    steady = Steady(lambda: fib.tables(net, net.topo.routers), net.topo.quiet_s, "the FIBs")
    return lambda _net: steady()


def stages_for(net: "Network") -> list[tuple[str, Check]]:
    return [("bgp", bgp_stage(net)), *STAGES, *([("stable", fibs_still(net))] if net.topo.quiet_s else [])]


@dataclass
class Convergence:
    """Seconds from ``t0`` at which each stage first held, and the total (converged: the
    forwarding stages; a ``bfd`` stage, when awaited, comes after it)."""

    stages: dict[str, float] = field(default_factory=dict)
    total_s: float = 0.0


def wait_stages(net: "Network", t0: float, timeout: float, interval: float = 0.1,
                stages: list[tuple[str, Check]] | None = None) -> Convergence:
    """Poll the stages in order until all hold; raise ``TimeoutError`` listing what is still
    wrong (``Stuck`` as soon as a stage knows it cannot hold)."""
    result = Convergence()
    deadline = time.monotonic() + timeout
    for name, check in (stages if stages is not None else stages_for(net)):
        out = poll(lambda: check(net), max(0.0, deadline - time.monotonic()), interval)
        if not out.ok:
            wrong = out.problems
            raise TimeoutError("; ".join(wrong[:6]) + (f" (+{len(wrong) - 6} more)" if len(wrong) > 6 else ""))
        result.stages[name] = round(time.monotonic() - t0, 3)
    result.total_s = round(time.monotonic() - t0, 3)
    return result


def wait_converged(net: "Network", timeout: float | None = None, bfd: bool = True) -> Convergence:
    """Wait until ``net`` (just started) has converged, counting from its start, then (with
    ``bfd``) until its BFD sessions are up; then mark it up (which starts the topology's
    behaviours). A timeout is one sentence naming what is wrong."""
    timeout = timeout if timeout is not None else net.topo.params["converge.timeout_s"]
    deadline = time.monotonic() + timeout
    try:
        net.convergence = conv = wait_stages(net, net.t0, timeout)
        if bfd:
            conv.stages.update(wait_stages(net, net.t0, max(0.0, deadline - time.monotonic()),
                                           stages=[("bfd", bfd_peers)]).stages)
    except Stuck as e:
        net.record(status="failed", error=str(e))
        raise TestbedError(f"{net.topo.name} cannot converge ({e}): check the keys, configs and logs, "
                           f"kept in {net.keep_logs()}.") from e
    except TimeoutError as e:
        net.record(status="failed", error=str(e))
        raise TestbedError(f"{net.topo.name} did not converge within {timeout:.0f} s ({e}): check the configs "
                           f"and logs, kept in {net.keep_logs()}.") from e
    net.mark_up(convergence=net.convergence.__dict__)
    return net.convergence
