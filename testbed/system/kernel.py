"""The kernel's view inside a node, over netlink (pyroute2), never by scraping ``ip`` output."""
from __future__ import annotations

import ctypes
import ipaddress
import os
from contextlib import contextmanager
from typing import Iterator

from pyroute2 import IPRoute

MAIN_TABLE = 254
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextmanager
def in_netns(pid: int) -> Iterator[None]:
    """Run the body with this *thread* inside process ``pid``'s network namespace.

    Sockets opened in the body stay in that namespace after the thread switches back. This
    replaces pyroute2's own netns support, which forks a helper process per socket: slower,
    and it hung when a node vanished under it.
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


@contextmanager
def netlink(pid: int) -> Iterator[IPRoute]:
    """An rtnetlink socket inside the network namespace of process ``pid``."""
    with in_netns(pid):
        ipr = IPRoute()
    try:
        yield ipr
    finally:
        ipr.close()


def _nexthops(route) -> list[dict]:
    """Next hops of a route message: a multipath list, or the single gateway/device."""
    mp = route.get("multipath")
    if mp:
        return [{"gateway": nh.get("gateway"), "oif": nh["oif"]} for nh in mp]
    return [{"gateway": route.get("gateway"), "oif": route.get("oif")}]


def fib(ipr: IPRoute, table: int = MAIN_TABLE) -> dict[str, list[dict]]:
    """``{prefix: [{gateway, oif, ifname}, ...]}`` for the IPv4 unicast routes of ``table``."""
    names = {link["index"]: link.get("ifname") for link in ipr.get_links()}
    out: dict[str, list[dict]] = {}
    for r in ipr.get_routes(family=2, table=table):
        if r["type"] not in (1,):  # unicast only; skips blackhole/local/broadcast
            continue
        dst = r.get("dst") or "0.0.0.0"
        prefix = str(ipaddress.IPv4Network(f"{dst}/{r['dst_len']}", strict=False))
        hops = _nexthops(r)
        for h in hops:
            h["ifname"] = names.get(h["oif"])
        out[prefix] = hops
    return out


def route_get(ipr: IPRoute, dst: str) -> dict:
    """The kernel's choice for one destination (``ip route get``): gateway and interface."""
    r = ipr.route("get", dst=dst)[0]
    oif = r.get("oif")
    name = ipr.get_links(oif)[0].get("ifname") if oif else None
    return {"gateway": r.get("gateway"), "oif": oif, "ifname": name}


def link_counters(ipr: IPRoute) -> dict[str, dict[str, int]]:
    """Per interface: packets and bytes received and sent (for path attribution)."""
    out = {}
    for link in ipr.get_links():
        s = link.get("stats64") or {}
        out[link.get("ifname")] = {k: s.get(k, 0) for k in ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes")}
    return out
