"""IKE faults on one VPN tunnel, at the gateway's end (docs/azure.md#vpn-tunnel-faults): its IKE
daemon killed, its IKE SA deleted, its shared key changed. Each tunnel end's TUN device loses
carrier with its last CHILD SA (testbed.daemons.strongswan's updown script), which takes the
BGP session over it down at once; what the other end notices, and when, is the fault's point."""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testbed.daemons.strongswan import Charon, failure_reason
from testbed.errors import TestbedError
from testbed.faults.base import Fault, stamp
from testbed.model.events import Event, now_ns
from testbed.model.topo import Topology

if TYPE_CHECKING:
    from testbed.runtime.net import Network


@dataclass
class TunnelFault(Fault):
    """A fault on one end of the VPN tunnel labelled ``tunnel``."""

    tunnel: str

    def check(self, topo: Topology) -> None:
        topo.tunnel_named(self.tunnel)

    def _end(self, net: "Network", side: str = "azure") -> Charon:
        assert net.tunnels is not None
        return net.tunnels.charon(net.topo.tunnel_named(self.tunnel), side)


@dataclass
class IkeDaemonKill(TunnelFault):
    """The gateway instance's IKE daemon (charon) is killed: no DELETE goes out, and its
    userspace ESP and TUN device go with it, so the gateway's side drops the tunnel's BGP
    session at once while the on-prem device notices only by dead peer detection or its BGP
    hold time. Restore starts charon again; it answers the device's next IKE SA."""

    def describe(self) -> str:
        return f"{self.tunnel}: the gateway's IKE daemon killed (SIGKILL)"

    def inject(self, net: "Network") -> Event:
        charon = self._end(net)
        issued = now_ns()
        pid = charon.kill()
        return stamp(charon.node.name, "inject", self, issued, pid=pid)

    def restore(self, net: "Network") -> Event:
        assert net.tunnels is not None
        issued = now_ns()
        charon = net.tunnels.restart(self.tunnel, "azure")
        return stamp(charon.node.name, "restore", self, issued, pid=charon.pid)


@dataclass
class IkeDelete(TunnelFault):
    """The gateway deletes the tunnel's IKE SA (and its CHILD SA) with a DELETE, as Azure does
    when the connection is reset; the on-prem device, which keeps the tunnel up, negotiates a
    new one at once (close_action start). Nothing to restore."""

    def describe(self) -> str:
        return f"{self.tunnel}: the gateway deletes the IKE SA"

    def inject(self, net: "Network") -> Event:
        charon = self._end(net)
        issued = now_ns()
        charon.terminate_ike()
        return stamp(charon.node.name, "inject", self, issued)

    def restore(self, net: "Network") -> Event:
        return stamp(self.tunnel, "restore", self, now_ns())


@dataclass
class KeyChange(TunnelFault):
    """The connection's shared key is changed on the gateway only, which then resets the
    tunnel: the device's next IKE SA fails authentication and the tunnel stays down. A step on
    the timeline carries the reason the device's log gives. Restore puts the old key back and
    has the device initiate."""

    within_s: float = 10.0

    def describe(self) -> str:
        return f"{self.tunnel}: the shared key is changed on the gateway only"

    def inject(self, net: "Network") -> Event:
        gateway, device = self._end(net), self._end(net, "on-prem")
        issued = now_ns()
        gateway.load_key(secrets.token_urlsafe(32))
        gateway.terminate_ike()
        deadline = time.monotonic() + self.within_s
        while (reason := failure_reason(device.log_text())) is None:
            if time.monotonic() > deadline:
                raise TestbedError(f"{self.tunnel}: the device's new IKE SA did not fail within {self.within_s:g} s "
                                   f"of the key change: see the charon log of {device.node.name}.")
            time.sleep(0.01)
        self.steps = [Event(now_ns(), "fault", device.node.name, "auth-failed", {"what": reason})]
        return stamp(gateway.node.name, "inject", self, issued, t_ns=issued)

    def restore(self, net: "Network") -> Event:
        gateway, device = self._end(net), self._end(net, "on-prem")
        issued = now_ns()
        gateway.load_key()
        device.initiate()
        return stamp(gateway.node.name, "restore", self, issued)
