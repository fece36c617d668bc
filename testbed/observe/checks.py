"""Checks on a running network, in the spirit of FRR's topotests.

Two kinds of function live here:

- *readers* return what the network does now, in the topology's own words: the link and tunnel
  labels a node forwards a prefix over (``fib_nexthops``), the paths between two nodes both ways
  (``path``), a router's BGP table and what it received from or advertised to a neighbor named
  by session label (``bgp_table``, ``bgp_received``, ``bgp_advertised``);
- *checks* return what is wrong, as readable lines (an empty list means good): ``json_cmp``
  (topotests' subset comparison), ``path_through``, ``more_specific_leaks``.

``eventually(check, within=...)`` polls a check until it holds and otherwise fails with the
last thing it saw, so a test reads as its expectation::

    eventually(lambda: path_through(net, "h1", vm1, {"er-primary", "er-secondary"}), within=10)
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from testbed.errors import TestbedError
from testbed.observe import fib
from testbed.system.poll import Problems, StillWrong, until

if TYPE_CHECKING:
    from testbed.runtime.net import Network

MAX_HOPS = 16  # longer than any topology's diameter: a longer walk is a forwarding loop


class CheckFailed(StillWrong, AssertionError):
    """``eventually`` gave up: the message says what was expected and what was seen last
    (an AssertionError too, so that pytest reports it as a failed expectation)."""


# --- waiting ----------------------------------------------------------------------------------
def eventually(check: Callable[[], Problems | str | None], within: float, interval: float = 0.1,
               what: str = "") -> float:
    """Poll ``check`` until it reports nothing wrong; the seconds that took.

    ``check`` returns a list of problems, a diff string (``json_cmp``) or None; empty or None is
    good. After ``within`` seconds the last problems are raised as :class:`CheckFailed`.
    """
    __tracebackhide__ = True  # pytest shows the test's line, not this loop
    return until(check, within, interval, what, error=CheckFailed)


# --- comparing --------------------------------------------------------------------------------
def json_cmp(expected: Any, seen: Any, exact: bool = False) -> str | None:
    """None if ``seen`` contains ``expected``; otherwise one line per difference.

    As topotests' ``json_cmp``: dicts match when every expected key matches (a key expected as
    None must be absent); lists when every expected item matches a distinct seen item, in any
    order. With ``exact``, dicts must have the same keys and lists the same length and order.
    """
    diffs = _diff(expected, seen, "$", exact)
    return "\n".join(diffs) if diffs else None


def _diff(expected: Any, seen: Any, where: str, exact: bool) -> Problems:
    if isinstance(expected, dict):
        if not isinstance(seen, dict):
            return [f"{where}: expected an object {_short(expected)}, seen {_short(seen)}"]
        out = []
        for key, want in expected.items():
            at = f"{where}[{key!r}]"
            if want is None:
                if key in seen:
                    out.append(f"{at}: expected absent, seen {_short(seen[key])}")
            elif key not in seen:
                out.append(f"{at}: expected {_short(want)}, seen nothing (keys: {_short(sorted(seen))})")
            else:
                out += _diff(want, seen[key], at, exact)
        if exact:
            out += [f"{where}[{k!r}]: not expected, seen {_short(seen[k])}" for k in seen if k not in expected]
        return out
    if isinstance(expected, list):
        if not isinstance(seen, list):
            return [f"{where}: expected a list {_short(expected)}, seen {_short(seen)}"]
        if exact:
            scalars = not any(isinstance(v, (dict, list)) for v in (*expected, *seen))
            if len(expected) != len(seen) or (scalars and expected != seen):
                return [f"{where}: expected {_short(expected)}, seen {_short(seen)}"]
            return [d for i, (w, s) in enumerate(zip(expected, seen)) for d in _diff(w, s, f"{where}[{i}]", exact)]
        free = list(range(len(seen)))
        out = []
        for want in expected:
            match = next((i for i in free if not _diff(want, seen[i], where, exact)), None)
            if match is None and isinstance(want, (dict, list)) and free:
                # the nearest seen item: its differences read better than the whole list
                out += min((_diff(want, seen[i], f"{where}[{i}]", exact) for i in free), key=len)
            elif match is None:
                out.append(f"{where}: expected an item {_short(want)}, seen {_short(seen)}")
            else:
                free.remove(match)
        return out
    if expected != seen:
        return [f"{where}: expected {expected!r}, seen {seen!r}"]
    return []


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --- the kernel's forwarding ------------------------------------------------------------------
def fib_nexthops(net: "Network", node: str, prefix: str) -> list[str]:
    """The labels of the links/tunnels ``node``'s kernel forwards exactly ``prefix`` over, sorted
    ([] when the prefix is not in its FIB)."""
    return sorted(fib.via(net, node, prefix))


def _owner(net: "Network", addr: str) -> str | None:
    for link in net.topo.links:
        for end in (link.a, link.b):
            if end.addr is not None and str(end.addr.ip) == addr:
                return end.node
    for t in net.topo.tunnels:
        if addr in (t.onprem_inner, t.onprem_outer):
            return t.onprem
        if addr in (t.azure_inner, t.azure_outer):
            return t.azure
    return None


def _longest_match(table: fib.Table, addr: str) -> list[dict]:
    ip = ipaddress.IPv4Address(addr)
    best: ipaddress.IPv4Network | None = None
    for prefix in table:
        net = ipaddress.IPv4Network(prefix)
        if ip in net and (best is None or net.prefixlen > best.prefixlen):
            best = net
    return table[str(best)] if best is not None else []


def routes(net: "Network", src: str, dst_addr: str) -> list[tuple[str, ...]]:
    """Every path the kernels would forward ``src``'s packets to ``dst_addr`` along, as link and
    tunnel labels, following every ECMP next hop (longest-prefix match in each node's FIB).

    A path that does not arrive ends in ``"no route at NODE"`` or ``"loop at NODE"``.
    """
    dst = _owner(net, dst_addr)
    labels = net.topo.hops()
    fibs: dict[str, dict] = {}
    done: list[tuple[str, ...]] = []

    def walk(node: str, taken: tuple[str, ...], visited: tuple[str, ...]) -> None:
        if node == dst:
            done.append(taken)
            return
        if node in visited or len(taken) >= MAX_HOPS:
            done.append(taken + (f"loop at {node}",))
            return
        if node not in fibs:
            fibs[node] = fib.table(net, node)
        hops = _longest_match(fibs[node], dst_addr)
        if not hops:
            done.append(taken + (f"no route at {node}",))
        for h in hops:
            label, far = labels.get((node, h["ifname"]), (f"{node}:{h['ifname']}", None))
            if far is None:
                done.append(taken + (label, f"no route at {node}"))
            else:
                walk(far, taken + (label,), visited + (node,))

    walk(src, (), ())
    return sorted(set(done))


@dataclass
class Paths:
    """How traffic between two nodes goes: each direction's paths as tuples of labels."""

    there: list[tuple[str, ...]]
    back: list[tuple[str, ...]]

    def describe(self, src: str, dst: str) -> str:
        def fmt(paths: list[tuple[str, ...]]) -> str:
            return " | ".join(" > ".join(p) for p in paths) or "nothing"
        return f"{src} -> {dst}: {fmt(self.there)}; back: {fmt(self.back)}"


def path(net: "Network", src: str, dst_addr: str) -> Paths:
    """The paths from node ``src`` to ``dst_addr`` and back (to ``src``'s first address)."""
    dst = _owner(net, dst_addr)
    if dst is None:
        raise TestbedError(f"no node of {net.topo.name} has address {dst_addr}: use an address of one of its "
                           "nodes (net.topo.address(node)).")
    return Paths(there=routes(net, src, dst_addr), back=routes(net, dst, net.topo.address(src)))


def path_through(net: "Network", src: str, dst_addr: str, labels: Iterable[str], both_ways: bool = True) -> Problems:
    """Every path from ``src`` to ``dst_addr`` (and back, with ``both_ways``) crosses one of ``labels``."""
    want = set(labels)
    p = path(net, src, dst_addr)
    dst, back_to = _owner(net, dst_addr), net.topo.address(src)
    legs = [(f"{src} -> {dst} ({dst_addr})", p.there)]
    if both_ways:
        legs.append((f"{dst} -> {src} ({back_to})", p.back))
    wrong = []
    for leg, paths in legs:
        for hops in paths or [("nothing",)]:
            if not want & set(hops):
                wrong.append(f"{leg} goes {' > '.join(hops)}, not through {' or '.join(sorted(want))}")
    return wrong


def path_is(net: "Network", src: str, dst_addr: str, expected: Paths) -> Problems:
    """The paths between ``src`` and ``dst_addr`` are ``expected`` (e.g. those before a fault)."""
    now = path(net, src, dst_addr)
    if now == expected:
        return []
    return [f"now {now.describe(src, dst_addr)}", f"expected {expected.describe(src, dst_addr)}"]


# --- BGP --------------------------------------------------------------------------------------
def bgp_table(net: "Network", router: str) -> dict[str, list[dict]]:
    """``router``'s IPv4 BGP table as FRR reports it: ``{prefix: [path, ...]}`` (``show bgp
    ipv4 unicast json``: each path has ``bestpath``, ``locPrf``, ``path`` (AS path), ``nexthops``...)."""
    return net.frr[router].json("show bgp ipv4 unicast json").get("routes", {})


def bgp_received(net: "Network", router: str, label: str, pre_policy: bool = False) -> dict[str, Any]:
    """What ``router`` holds from its neighbor on session ``label``: ``{prefix: [path, ...]}``.

    By default the routes accepted after inbound policy (``neighbors X routes``). With
    ``pre_policy`` what the neighbor sent before policy (``received-routes``), which needs
    ``soft-reconfiguration inbound`` on that neighbor.
    """
    n = net.topo.neighbor(router, label)
    if not pre_policy:
        return net.frr[router].json(f"show bgp ipv4 unicast neighbors {n.addr} routes json").get("routes", {})
    out = net.frr[router].json(f"show bgp ipv4 unicast neighbors {n.addr} received-routes json")
    if "warning" in out:
        raise TestbedError(f"{router} keeps no copy of what {n.peer} sent ({out['warning']}): add "
                           f"'neighbor {n.addr} soft-reconfiguration inbound' to its config.")
    return out.get("receivedRoutes", {})


def bgp_advertised(net: "Network", router: str, label: str) -> dict[str, Any]:
    """What ``router`` advertises to its neighbor on session ``label``, after outbound policy:
    ``{prefix: {nextHop, path, locPrf, ...}}``."""
    n = net.topo.neighbor(router, label)
    return net.frr[router].json(f"show bgp ipv4 unicast neighbors {n.addr} advertised-routes json") \
        .get("advertisedRoutes", {})


def more_specific_leaks(vpn: Iterable[str], er: Iterable[str]) -> Problems:
    """Prefixes advertised over the VPN that are more specific than what ExpressRoute carries.

    Azure chooses the longest prefix before preferring ExpressRoute, so each pulls Azure's
    traffic for it onto the VPN while on-prem still sends over ExpressRoute (asymmetric).
    """
    er_nets = [ipaddress.IPv4Network(p) for p in er]
    wrong = []
    for p in sorted(set(vpn)):
        net = ipaddress.IPv4Network(p)
        if net in er_nets:
            continue
        wider = [e for e in er_nets if net.subnet_of(e)]
        if wider:
            wrong.append(f"{p} is advertised over the VPN, ExpressRoute carries only {', '.join(map(str, wider))}: "
                         "Azure sends traffic for it over the VPN")
    return wrong
