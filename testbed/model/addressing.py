"""Address pools handed out by name, so that no builder takes an address by its position.

A pool (``onprem.links``: 10.20.255.0/24 in /30s) gives each name its own subnet: a name listed
in the pool's ``layout`` always gets the same one, whatever else the topology has (the VPN-only
topology keeps the addresses it has in the hybrid), a name in ``tail`` is counted from the
pool's end, and any other name takes the next free subnet.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from testbed.errors import TestbedError


@dataclass
class Pool:
    key: str                                  # the parameter it comes from ("onprem.links")
    network: ipaddress.IPv4Network
    prefixlen: int
    layout: tuple[str, ...] = ()
    tail: tuple[str, ...] = ()
    given: dict[str, ipaddress.IPv4Network] = field(default_factory=dict)
    # addresses taken outside the pool (a gateway's BGP address in the GatewaySubnet): no
    # subnet holding one is handed out, and the layout counts past them
    avoid: tuple[ipaddress.IPv4Address, ...] = ()

    def _nth(self, i: int) -> ipaddress.IPv4Network:
        step = 2 ** (32 - self.prefixlen)
        return ipaddress.IPv4Network((int(self.network.network_address) + i * step, self.prefixlen))

    def subnet(self, name: str) -> ipaddress.IPv4Network:
        """The subnet for ``name`` (the same one on every call)."""
        if name in self.given:
            return self.given[name]
        free = [k for k in range(2 ** (self.prefixlen - self.network.prefixlen))
                if not any(a in self._nth(k) for a in self.avoid)]
        if name in self.layout:
            i = self.layout.index(name)
        elif name in self.tail:
            i = len(free) - 1 - self.tail.index(name)
        else:
            taken = set(self.given.values())
            reserved = set(range(len(self.layout))) | {len(free) - 1 - k for k in range(len(self.tail))}
            i = next((k for k in range(len(free)) if k not in reserved and self._nth(free[k]) not in taken), len(free))
        if i >= len(free) or i < 0:
            raise TestbedError(f"{self.key} {self.network} has no /{self.prefixlen} left for {name}: "
                               "give it a larger range.")
        self.given[name] = self._nth(free[i])
        return self.given[name]
