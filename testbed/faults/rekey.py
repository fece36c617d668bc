"""A CHILD SA rekey under traffic (docs/azure.md#ipsec-and-ike): what the tunnel does at the end
of every SA lifetime (27,000 s on Azure), brought forward to now so it can be measured."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testbed.errors import TestbedError
from testbed.faults.base import stamp
from testbed.faults.ike import TunnelFault
from testbed.model.events import Event, now_ns

if TYPE_CHECKING:
    from testbed.runtime.net import Network

SIDES = ("on-prem", "azure")


@dataclass
class Rekey(TunnelFault):
    """The ``side`` end of ``tunnel`` rekeys its CHILD SA. Stamped when the rekey is asked for;
    a step on the timeline marks the new SA installed and names both outbound SPIs."""

    side: str = "on-prem"
    within_s: float = 5.0

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise TestbedError(f"a rekey's side is {self.side!r}: use one of {', '.join(SIDES)}.")
        self.settle, self.hold_s = "hold", 2.0   # nothing need change: traffic must just go on

    def describe(self) -> str:
        return f"{self.tunnel}: CHILD SA rekeyed by the {self.side} end"

    def inject(self, net: "Network") -> Event:
        charon = self._end(net, self.side)
        old = charon.child_spis()
        issued = now_ns()
        charon.rekey_child()
        deadline = time.monotonic() + self.within_s
        while (new := charon.child_spis()) in (old, None):
            if time.monotonic() > deadline:
                raise TestbedError(f"{self.tunnel}: no new CHILD SA within {self.within_s:g} s of the rekey "
                                   f"(still {old}): see the charon log of {charon.node.name}.")
            time.sleep(0.005)
        self.steps = [Event(now_ns(), "fault", charon.node.name, "rekeyed",
                            {"what": f"CHILD SA {old[1] if old else '?'} -> {new[1]} (out)", "spi_in": new[0]})]
        return stamp(charon.node.name, "inject", self, issued, t_ns=issued, old_spi_out=old[1] if old else None)

    def restore(self, net: "Network") -> Event:
        """Nothing to undo: the new SA is the tunnel's from now on."""
        return stamp(self.tunnel, "restore", self, now_ns())
