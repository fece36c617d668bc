"""The MSEE's (and the VPN gateway's) prefix limit, as Azure applies it: over the limit the BGP
session is dropped, and it comes back once the customer advertises fewer prefixes
(docs/azure.md#prefix-limits).

FRR's ``maximum-prefix`` drops the session and keeps it down until it is cleared; this
behaviour clears it ``retry_s`` after the drop, as the MSEE retries (the delay is not documented:
``msee.prefix_limit_retry_s``; for the VPN gateway, whose return Microsoft does not document at
all, ``vpngw.prefix_limit_retry_s``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from testbed.observe import peers

if TYPE_CHECKING:
    from testbed.runtime.net import Network


@dataclass
class PrefixLimitRetry:
    """Retries the sessions with a prefix limit on ``routers`` that were dropped for it."""

    routers: tuple[str, ...]
    retry_s: float
    name: str = "prefix-limit"
    interval_s: float = 1.0
    _down_since: dict[str, float] = field(default_factory=dict, repr=False)

    def step(self, net: "Network") -> None:
        for router in self.routers:
            for n in net.topo.routers[router].neighbors:
                if n.max_prefix:
                    self._check(net, router, n.addr)

    def _check(self, net: "Network", router: str, addr: str) -> None:
        key = f"{router}/{addr}"
        info = peers.bgp_neighbor(net, router, addr)
        why = f"{info.get('lastResetDueTo', '')} {info.get('lastNotificationReason', '')}".lower()
        if "prefix" not in why or info.get("bgpState") == "Established":
            self._down_since.pop(key, None)
            return
        since = self._down_since.setdefault(key, time.monotonic())
        if time.monotonic() - since >= self.retry_s:
            net.frr[router].command(f"clear bgp ipv4 unicast {addr}")
            self._down_since.pop(key, None)
