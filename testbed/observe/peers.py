"""The one reader of BGP and BFD peer state, from FRR's JSON (vtysh)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testbed.daemons.frr import DaemonDown

if TYPE_CHECKING:
    from testbed.runtime.net import Network


def bgp(net: "Network", router: str) -> dict[str, dict[str, Any]]:
    """``router``'s IPv4 BGP peers by address (``show bgp ipv4 unicast summary``: state,
    peerUptimeMsec, pfxRcd, pfxSnt...)."""
    summary = _json(net, router, "show bgp ipv4 unicast summary json")
    return summary.get("peers", {}) if isinstance(summary, dict) else {}


def bgp_neighbor(net: "Network", router: str, addr: str) -> dict[str, Any]:
    """FRR's detail on one neighbor (``show bgp neighbors X``: bgpState, lastResetDueTo,
    lastNotificationReason, bgpTimerUpMsec...); {} when it is not configured."""
    info = _json(net, router, f"show bgp neighbors {addr} json")
    return info.get(addr, {}) if isinstance(info, dict) else {}


def bfd(net: "Network", router: str) -> dict[str, dict[str, Any]]:
    """``router``'s BFD sessions by peer address (status, transmit-interval, ...)."""
    peers = _json(net, router, "show bfd peers json")
    return {p.get("peer"): p for p in peers} if isinstance(peers, list) else {}


def _json(net: "Network", router: str, command: str) -> Any:
    """FRR's answer; none when the daemon is down (a killed bgpd has no sessions, which the
    callers read as down); any other failure raises."""
    try:
        return net.frr[router].json(command)
    except DaemonDown:
        return {}
