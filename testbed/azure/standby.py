"""An active-standby gateway's standby instance (docs/azure.md#active-standby).

Azure runs a VPN gateway without active-active as two instances: the active one holds the
public address and the BGP address, the other waits. The standby here is a twin node of the
active instance: the same addresses on links of its own to the same neighbours, the same BGP
configuration, a charon loaded as responder. Its links stay down (both ends, so no route
leads to it) until it takes over (``testbed.faults.takeover``); the address then moves to it,
as Azure's does, and the on-prem device sees its tunnel and BGP session come back to the same
addresses.
"""
from __future__ import annotations

import copy

from testbed.model.topo import Topology, Tunnel


def add_standby(t: Topology, active: str, name: str, tunnel: Tunnel) -> None:
    """``name``, the standby of instance ``active`` that serves ``tunnel`` once it has taken over."""
    src = t.routers[active]
    twin = t.router(name, asn=src.asn, role=src.role, router_id=src.router_id, daemons=src.daemons,
                    standby_for=active)
    for attr in ("networks", "statics", "neighbors", "route_maps", "maximum_paths", "loopbacks"):
        setattr(twin, attr, copy.deepcopy(getattr(src, attr)))
    for link in t.links_of(active):
        a, b = (name if end.node == active else end.node for end in (link.a, link.b))
        label = link.label.replace(active, name) if active in link.label else f"{link.label}-standby"
        t.link(a, b, link.a.addr.network, label, mtu=link.a.mtu, addrs=(link.a.addr, link.b.addr), standby=True)
    tunnel.standby = name
