"""Faults: each breaks one thing in a running network and puts it back, stamping both instants.

A fault's ``inject(net)`` and ``restore(net)`` return an :class:`~testbed.model.events.Event`
(``source="fault"``) stamped on the testbed clock right after the action returned, which is
when it had taken effect: a netlink call is acknowledged once the kernel applied it; one
nftables transaction (libnftables, called in process) returns once the kernel committed it
atomically; a SIGKILL is stamped once the process is gone. The stamp taken just before the action is kept as ``detail["issued_ns"]``, so
every instant is bracketed.

Faults name what they break the way a topology does: links by label (``er-primary``),
routers and BGP sessions by name and label. The runner reads ``settle`` to know what the
network should do after ``inject``: ``"change"`` (the FIB changes, then holds still),
``"baseline"`` (the fault undoes itself, e.g. a flap: wait for the baseline) or ``"hold"``
(nothing need change: keep the fault for ``hold_s``).

A scenario takes its faults from here; each kind lives in a module of its own:

- links (``link``): ``LinkDown`` (carrier lost), ``LinkFlap``;
- silent drops inside a node (``drop``, nftables): ``Blackhole``, ``RandomLoss``;
- shaping with netem (``netem``): ``Delay`` (with jitter), ``Reorder``, ``Rate``;
- BGP (``bgp``): ``SessionReset``, ``SessionShutdown``, ``PrefixFlood``, ``MoreSpecific``, ``AsPathPrepend``;
- FRR daemons (``daemon``): ``DaemonKill``;
- the VPN: ``Rekey`` (``rekey``), ``Takeover`` (``takeover``: the standby gateway instance takes
  over), ``IkeDaemonKill``, ``IkeDelete``, ``KeyChange`` (``ike``);
- several at once: ``Together`` (``base``).
"""
from __future__ import annotations

from testbed.faults.base import Fault, Together
from testbed.faults.bgp import AsPathPrepend, MoreSpecific, PrefixFlood, SessionReset, SessionShutdown
from testbed.faults.daemon import DaemonKill
from testbed.faults.netem import Delay, Rate, Reorder
from testbed.faults.drop import Blackhole, RandomLoss
from testbed.faults.ike import IkeDaemonKill, IkeDelete, KeyChange
from testbed.faults.link import LinkDown, LinkFlap
from testbed.faults.rekey import Rekey
from testbed.faults.takeover import Takeover

__all__ = ["AsPathPrepend", "Blackhole", "DaemonKill", "Delay", "Fault", "IkeDaemonKill", "IkeDelete", "KeyChange", "LinkDown", "LinkFlap",
           "MoreSpecific", "PrefixFlood", "RandomLoss", "Rate", "Rekey", "Reorder", "SessionReset", "SessionShutdown",
           "Takeover", "Together"]
