"""What a run looks like now: BGP and BFD sessions, and the path each expected prefix takes."""
from __future__ import annotations

import ipaddress
import time
from typing import Any, TYPE_CHECKING

from testbed.system import kernel

if TYPE_CHECKING:
    from testbed.runtime.net import Network


def bgp_sessions(net: "Network") -> list[dict[str, Any]]:
    rows = []
    for name, r in net.topo.routers.items():
        summary = net.frr[name].json("show bgp ipv4 unicast summary json")
        peers = summary.get("peers", {}) if isinstance(summary, dict) else {}
        bfd = {p.get("peer"): p for p in (net.frr[name].json("show bfd peers json") or [])} \
            if any(n.bfd for n in r.neighbors) else {}
        for n in r.neighbors:
            p = peers.get(n.addr, {})
            b = bfd.get(n.addr)
            rows.append({
                "router": name, "session": n.label, "peer": n.peer, "address": n.addr,
                "remote_as": n.remote_as, "state": p.get("state", "missing"),
                "uptime_s": round(p.get("peerUptimeMsec", 0) / 1000, 1),
                "prefixes_received": p.get("pfxRcd", 0), "prefixes_sent": p.get("pfxSnt", 0),
                "bfd": (f"{b.get('status')} {b.get('transmit-interval')}ms x{b.get('detect-multiplier')}"
                        if b else ("configured, no session" if n.bfd else "-")),
            })
    return rows


def paths(net: "Network") -> list[dict[str, Any]]:
    """For each expected prefix: the links its kernel next hops leave by."""
    rows = []
    tables: dict[str, dict] = {}
    for e in net.topo.fib:
        if e.node not in tables:
            with kernel.netlink(net.pid(e.node)) as ipr:
                tables[e.node] = kernel.fib(ipr)
        hops = tables[e.node].get(str(ipaddress.IPv4Network(e.prefix)), [])
        via = net.topo.hop_names(e.node, hops)
        rows.append({"node": e.node, "prefix": e.prefix, "via": via, "ok": e.problem(via) is None,
                     "expected_nexthops": e.nexthops, "expected_via": list(e.via)})
    return rows


def collect(net: "Network") -> dict[str, Any]:
    st = net.state
    return {
        "run": net.run, "topology": net.topo.name, "status": st.get("status"),
        "owner_pid": st.get("owner_pid"),
        "up_for_s": round(time.time() - st["started_at"], 1) if st.get("started_at") else None,
        "convergence": st.get("convergence"),
        "bgp": bgp_sessions(net), "paths": paths(net),
        "tunnels": net.tunnels.status() if net.tunnels else [],
    }
