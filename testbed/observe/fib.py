"""The one reader of a node's kernel FIB (over netlink), in the topology's own words."""
from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Iterable

from testbed.system import kernel

if TYPE_CHECKING:
    from testbed.runtime.net import Network

Table = dict[str, list[dict]]   # prefix -> next hops ({gateway, oif, ifname})


def table(net: "Network", node: str) -> Table:
    """``node``'s IPv4 unicast routes of the main table."""
    with kernel.netlink(net.pid(node)) as ipr:
        return kernel.fib(ipr)


def tables(net: "Network", nodes: Iterable[str]) -> dict[str, Table]:
    return {node: table(net, node) for node in dict.fromkeys(nodes)}


def nexthops(t: Table, prefix: str) -> list[dict]:
    """The next hops of exactly ``prefix`` in a table ([] when it is absent)."""
    return t.get(str(ipaddress.IPv4Network(prefix)), [])


def via(net: "Network", node: str, prefix: str, t: Table | None = None) -> list[str]:
    """The labels of the links/tunnels ``node`` forwards exactly ``prefix`` over, in next-hop
    order (the interface name for one the topology does not know)."""
    return net.topo.hop_names(node, nexthops(t if t is not None else table(net, node), prefix))
