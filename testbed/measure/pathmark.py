"""Path attribution: every path stamps the probe packets crossing it with its own DSCP.

The probes' hosts have one interface each, so the receive interface cannot tell which of two
active-active links a packet took. Instead an nftables rule in the router where a path starts
(the on-prem end: ``ce1`` for ``er-primary``) rewrites the DSCP of forwarded probe packets
going out of or coming in by the path's interface, in both directions, and the receiving probe
records the TOS byte of each packet (``testbed.measure.probe``: flags bits 8-15). Only probe packets
(UDP to the probe ports) are marked: BFD and BGP keep their own DSCP.

The paths and their marks are the topology's (``Topology.paths``, declared by its builders):
a link's mark point is its on-prem end, an IPsec tunnel's the on-prem TUN device (``ipsec0`` in
``vpn1``). Any label and any number of paths (up to 63, DSCP's room) work.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

from testbed.measure.outage import path_samples
from testbed.measure.records import TOS_SHIFT, Records
from testbed.model.topo import Topology
from testbed.system import nft

if TYPE_CHECKING:
    from testbed.runtime.net import Network

UNMARKED = "unmarked"
NFT_TABLE = "tbpath"
NFT_PRIORITY = -150  # mangle: after the faults' drops (-400)
PROBE_PORTS = (47000, 47999)


@dataclass(frozen=True)
class MarkPoint:
    node: str     # the router where the path starts
    ifname: str   # its interface onto the path
    path: str     # the path's name (the link label)
    dscp: int


def mark_points(topo: Topology) -> list[MarkPoint]:
    """One mark point per path the topology declares, where the path starts on-prem."""
    tunnels = {t.label: t for t in topo.tunnels}
    points = []
    for label, dscp in topo.paths.items():
        if label in tunnels:  # an IPsec tunnel's path starts at the on-prem TUN device
            points.append(MarkPoint(tunnels[label].onprem, tunnels[label].onprem_tun, label, dscp))
            continue
        link = topo.link_named(label)
        a = topo.routers.get(link.a.node)
        end = link.a if a is not None and a.role == "onprem" else link.b
        points.append(MarkPoint(end.node, end.name, label, dscp))
    return points


def rules(points: Iterable[MarkPoint], ports: tuple[int, int] = PROBE_PORTS) -> str:
    """The nft script for the mark points of one node (pure, for tests)."""
    lo, hi = ports
    lines = []
    for p in points:
        for match in ("iifname", "oifname"):
            lines.append(f"    {match} \"{p.ifname}\" udp dport {lo}-{hi} ip dscp set {p.dscp}")
    return (f"add table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}\n"
            f"table inet {NFT_TABLE} {{\n"
            f"  chain forward {{ type filter hook forward priority {NFT_PRIORITY}; policy accept;\n"
            + "\n".join(lines) + "\n  }\n}\n")


def _by_node(points: Iterable[MarkPoint]) -> dict[str, list[MarkPoint]]:
    out: dict[str, list[MarkPoint]] = {}
    for p in points:
        out.setdefault(p.node, []).append(p)
    return out


def install(net: "Network", points: list[MarkPoint], ports: tuple[int, int] = PROBE_PORTS) -> None:
    for node, pts in _by_node(points).items():
        nft.apply(net.pid(node), rules(pts, ports))


def remove(net: "Network", points: list[MarkPoint]) -> None:
    for node in _by_node(points):
        nft.apply(net.pid(node), f"add table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}\n")


# --- reading the marks back ------------------------------------------------------------------
def names(points: Iterable[MarkPoint]) -> dict[int, str]:
    """DSCP -> path name, with 0 as unmarked (a packet that crossed no mark point)."""
    return {0: UNMARKED, **{p.dscp: p.path for p in points}}


def dscp(flags: int) -> int:
    return (flags >> TOS_SHIFT) >> 2


def by_mark(records: Records) -> Records:
    """The records with the DSCP in place of the receive ifindex, so that
    :func:`testbed.measure.outage.path_samples` (which attributes by ifindex) attributes by mark."""
    return Records(flow=records.flow, seq=records.seq, send_ns=records.send_ns,
                   recv_ns=records.recv_ns, flags=records.flags, seq_bits=records.seq_bits,
                   ifindex=array("i", (dscp(f) for f in records.flags)))


def traffic(records: Records, paths: Mapping[int, str], origin_ns: int, end_ns: int,
            bucket_ms: float = 10.0) -> dict[str, list[int]]:
    """Packets per time bucket on each path, all flows together (by send time)."""
    out: dict[str, list[int]] = {}
    series = path_samples(by_mark(records), paths, bucket_ms=bucket_ms, origin_ns=origin_ns, end_ns=end_ns)
    for s in series:
        for k, sample in enumerate(s.samples):
            for path, n in sample.counts.items():
                out.setdefault(path, [0] * len(s.samples))[k] += n
    return out


def flow_paths(records: Records, paths: Mapping[int, str],
               windows: Mapping[str, tuple[int, int]]) -> dict[int, dict[str, str | None]]:
    """Per flow, the path most of its packets took in each named send-time window
    (``{"before": (lo, hi), ...}``); None when none of its packets arrived in it."""
    counts: dict[int, dict[str, dict[str, int]]] = {}
    for fl, flags, t in zip(records.flow, records.flags, records.send_ns):
        for w, (lo, hi) in windows.items():
            if lo <= t < hi:
                c = counts.setdefault(fl, {}).setdefault(w, {})
                p = paths.get(dscp(flags), f"dscp:{dscp(flags)}")
                c[p] = c.get(p, 0) + 1
    return {fl: {w: (max(sorted(c), key=c.get) if (c := per.get(w)) else None) for w in windows}
            for fl, per in sorted(counts.items())}
