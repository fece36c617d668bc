"""Why a BGP session with a TCP MD5 key stays down, from what the kernel records: a segment
whose signature does not fit the socket's key is dropped before BGP sees it, so FRR only shows
a session that never leaves Active/Connect, while the namespace's TcpExt counters name the cause.

The counters are per namespace, not per peer: a session is blamed only when it is down and an
end of it holds a key (or runs the user's own config, whose keys the model does not know)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from testbed.model.topo import Neighbor
from testbed.system.netstat import md5_drops

if TYPE_CHECKING:
    from testbed.runtime.net import Network


@dataclass(frozen=True)
class Mismatch:
    drops: int          # segments both ends' kernels dropped, all MD5 counters together
    sentence: str


def keyed(net: "Network", router: str, n: Neighbor) -> bool:
    """Whether either end of the session may hold an MD5 key."""
    topo = net.topo
    far = next((m for m in topo.routers[n.peer].neighbors if m.label == n.label), None) \
        if n.peer in topo.routers else None
    return bool(n.password or (far and far.password) or {router, n.peer} & set(topo.configs))


def mismatch(net: "Network", router: str, n: Neighbor) -> Mismatch | None:
    """The MD5 drops at the two ends of ``router``'s session ``n`` (which is down), or None."""
    if not keyed(net, router, n):
        return None
    ends = {node: md5_drops(net.pid(node)) for node in (router, n.peer) if node in net.pids}
    seen = {node: drops for node, drops in ends.items() if drops}
    if not seen:
        return None
    detail = "; ".join(f"{node}: {', '.join(f'{k} {v}' for k, v in d.items())}" for node, d in seen.items())
    return Mismatch(sum(sum(d.values()) for d in seen.values()),
                    f"MD5 mismatch on {n.label}: the kernel drops its TCP segments ({detail})")
