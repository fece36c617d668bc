"""How the reference networks lay out their address pools (one place: builders ask by name).

Each pool is a parameter; the names in its layout keep their subnets whichever parts a topology
has, so the VPN-only topology and the hybrid give ``core-vpn1`` the same addresses, and a
user's config written for one fits the other.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from testbed.errors import TestbedError
from testbed.model.addressing import Pool
from testbed.model.topo import Topology

# key -> (prefix length, names from the start, names from the end)
LAYOUT: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    "onprem.links": (30, ("core-ce1", "core-ce2", "ce1-ce2"), ("core-vpn1",)),
    "msee.backbone": (30, ("msee1-ergw0", "msee2-ergw0", "msee1-msee2", "msee1-ergw1", "msee2-ergw1"), ()),
    "vnet.gateway_subnet": (30, ("ergw0-vnet", "vpngw0-vnet", "vpngw1-vnet", "ergw1-vnet"), ()),
    "inet.prefix": (30, ("inet-vpn1", "inet-vpngw0", "inet-vpngw1"), ()),
}


def pool(t: Topology, key: str, within: ipaddress.IPv4Network | None = None,
         avoid: tuple[ipaddress.IPv4Address, ...] = ()) -> Pool:
    """The pool ``key`` (a parameter, laid out as LAYOUT says) of ``t``, opened on first use;
    ``within`` takes its range from a network file instead (a VNet's own GatewaySubnet) and
    ``avoid`` keeps addresses out of it (a gateway's BGP addresses), given at the first use."""
    rng = within or t.params.net(key)
    name = key if rng == t.params.net(key) else f"{key} {rng}"
    if name not in t.pools:
        prefixlen, layout, tail = LAYOUT[key]
        t.pools[name] = Pool(key, rng, prefixlen, layout, tail, avoid=avoid)
    return t.pools[name]


def subnet(t: Topology, key: str, name: str, within: ipaddress.IPv4Network | None = None) -> ipaddress.IPv4Network:
    """The subnet of pool ``key`` that the link ``name`` gets in ``t``."""
    return pool(t, key, within).subnet(name)


@dataclass
class RouterIds:
    """BGP router ids, unique within a topology: the one asked for, else the next free one of
    a range (the reference networks ask for the ids they have always had)."""

    taken: set[str] = field(default_factory=set)

    def take(self, wanted: str | None, pool: str) -> str:
        if wanted is None or wanted in self.taken:
            free = (str(a) for a in ipaddress.IPv4Network(pool).hosts() if str(a) not in self.taken)
            wanted = next(free, None)
            if wanted is None:
                raise TestbedError(f"no router id is left in {pool}: give the routers router_id values.")
        self.taken.add(wanted)
        return wanted
