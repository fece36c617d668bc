"""What a run looks like now: BGP and BFD sessions, and the path each expected prefix takes."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from testbed.observe import fib, md5, peers

if TYPE_CHECKING:
    from testbed.runtime.net import Network


def bgp_sessions(net: "Network") -> list[dict[str, Any]]:
    rows = []
    for name, r in net.topo.routers.items():
        bgp = peers.bgp(net, name) if r.neighbors else {}
        bfd = peers.bfd(net, name) if any(n.bfd for n in r.neighbors) else {}
        for n in r.neighbors:
            p = bgp.get(n.addr, {})
            b = bfd.get(n.addr)
            state = p.get("state", "missing")
            why = md5.mismatch(net, name, n) if state != "Established" and not r.standby_for else None
            rows.append({
                "router": name, "standby_for": r.standby_for, "session": n.label, "peer": n.peer, "address": n.addr,
                "remote_as": n.remote_as, "state": state, "reason": why.sentence if why else None,
                "uptime_s": round(p.get("peerUptimeMsec", 0) / 1000, 1),
                "prefixes_received": p.get("pfxRcd", 0), "prefixes_sent": p.get("pfxSnt", 0),
                "bfd": (f"{b.get('status')} {b.get('transmit-interval')}ms x{b.get('detect-multiplier')}"
                        if b else ("configured, no session" if n.bfd else "-")),
            })
    return rows


def paths(net: "Network") -> list[dict[str, Any]]:
    """For each expected prefix: the links its kernel next hops leave by."""
    rows = []
    tables = fib.tables(net, (e.node for e in net.topo.fib))
    for e in net.topo.fib:
        via = fib.via(net, e.node, e.prefix, tables[e.node])
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
        "errors": st.get("errors", []),   # what the run's behaviours reported (a thread that stopped)
        "bgp": bgp_sessions(net), "paths": paths(net),
        "tunnels": net.tunnels.status() if net.tunnels else [],
        # where ESP runs and why (testbed.daemons.xfrm.resolve at bring-up)
        "dataplane": {"used": st["dataplane"], "why": st.get("dataplane_why")} if "dataplane" in st else None,
    }
