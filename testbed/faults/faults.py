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

VPN faults (charon kill, IPsec SA deletion, VPN gateway instance down) will be subclasses of
:class:`Fault` like these, driving ``testbed.daemons.strongswan.Charon`` of the tunnel they name.
"""
from __future__ import annotations

import ctypes
import ipaddress
import os
import signal
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from testbed.system import kernel
from testbed.errors import TestbedError
from testbed.model.events import Event, now_ns
from testbed.system.procs import alive, read_pidfile
from testbed.model.topo import Link, Neighbor, Topology

if TYPE_CHECKING:
    from testbed.runtime.net import Network

NFT_TABLE = "tbfault"
NFT_PRIORITY = -400  # before anything else in the node (the path marks, conntrack)


def _stamp(node: str, kind: str, fault: "Fault", issued_ns: int, t_ns: int | None = None,
           **detail: Any) -> Event:
    """The fault's event, stamped now unless the instant it took effect is given."""
    return Event(t_ns or now_ns(), "fault", node, kind,
                 {"fault": fault.name, "what": fault.describe(), "issued_ns": issued_ns, **detail})


@dataclass
class Fault(ABC):
    """One way to break the network; subclasses are small dataclasses naming their target."""

    settle: str = field(default="change", init=False)
    hold_s: float = field(default=0.0, init=False)
    #: stamped sub-steps beyond inject/restore (a flap's transitions), for the timeline
    steps: list[Event] = field(default_factory=list, init=False, repr=False)

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def describe(self) -> str:
        """One line for people: what breaks where."""

    def links(self) -> list[str]:
        """Labels of the links this fault touches (pcaps are taken there)."""
        return []

    def check(self, topo: Topology) -> None:
        """Raise TestbedError if the fault names something the topology lacks."""

    @abstractmethod
    def inject(self, net: "Network") -> Event: ...

    @abstractmethod
    def restore(self, net: "Network") -> Event: ...


# --- helpers ---------------------------------------------------------------------------------
def _link(topo: Topology, label: str) -> Link:
    try:
        return topo.link_by_label(label)
    except KeyError:
        raise TestbedError(f"{topo.name} has no link labelled {label!r}: choose one of "
                           f"{', '.join(l.label for l in topo.links)}.") from None


def _router(topo: Topology, name: str) -> None:
    if name not in topo.routers:
        raise TestbedError(f"{name!r} is not a router of {topo.name}: choose one of {', '.join(topo.routers)}.")


def session(topo: Topology, router: str, label: str) -> Neighbor:
    """The neighbor entry of ``router`` for the session labelled ``label``."""
    _router(topo, router)
    for n in topo.routers[router].neighbors:
        if n.label == label:
            return n
    raise TestbedError(f"{router} has no BGP session labelled {label!r}: choose one of "
                       f"{', '.join(n.label for n in topo.routers[router].neighbors)}.")


def set_links(net: "Network", ends: list[tuple[str, str]], up: bool) -> tuple[int, list[int]]:
    """``ip link set dev IFNAME up|down`` on each (node, ifname) in turn, over netlink; returns
    the instant the first was issued and the instant each was acknowledged (applied). The
    sockets are opened beforehand, so the changes follow each other within microseconds."""
    with ExitStack() as stack:
        targets = []
        for node, ifname in ends:
            ipr = stack.enter_context(kernel.netlink(net.pid(node)))
            idx = ipr.link_lookup(ifname=ifname)
            if not idx:
                raise TestbedError(f"{node} has no interface {ifname}: is the topology up?")
            targets.append((ipr, idx[0]))
        issued, stamps = now_ns(), []
        for ipr, idx in targets:
            ipr.link("set", index=idx, state="up" if up else "down")
            stamps.append(now_ns())
        return issued, stamps


@cache
def _libnftables() -> ctypes.CDLL:
    lib = ctypes.CDLL("libnftables.so.1")
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    for f in (lib.nft_ctx_buffer_output, lib.nft_ctx_buffer_error, lib.nft_ctx_free):
        f.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    return lib


def nft(net: "Network", node: str, script: str) -> None:
    """Apply ``script`` as one atomic nftables transaction inside ``node``.

    libnftables is called in this process, with the calling thread inside the node's network
    namespace: the call returns right after the kernel committed the batch. An ``nft`` process
    would add its start-up (10-25 ms on a busy machine) between the stamps around it."""
    lib = _libnftables()
    with kernel.in_netns(net.pid(node)):
        ctx = lib.nft_ctx_new(0)
        try:
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            rc = lib.nft_run_cmd_from_buffer(ctx, script.encode())
            err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace") if rc else ""
        finally:
            lib.nft_ctx_free(ctx)
    if rc != 0:
        raise TestbedError(f"nftables in {node} refused the fault's rules ({' '.join(err.split())[:200]}): "
                           "this is a testbed bug, please report it.")


def vtysh(net: "Network", router: str, *commands: str) -> None:
    out = net.frr[router].vtysh(*commands)
    bad = [line for line in out.splitlines() if line.startswith("%") or "Unknown command" in line]
    if bad:
        raise TestbedError(f"vtysh on {router} rejected the fault's commands ({bad[0].strip()}): "
                           "this is a testbed bug, please report it.")


def vtysh_file(net: "Network", router: str, lines: list[str]) -> None:
    """Many config lines in one ``vtysh -f`` (a ``-c`` per line would take minutes for thousands)."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf", dir=net.dir, delete=False) as f:
        f.write("\n".join(lines) + "\n")
    try:
        res = subprocess.run(["vtysh", "-N", net.frr[router].instance, "-f", f.name],
                             capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(f.name)
    if res.returncode != 0:
        raise TestbedError(f"vtysh -f on {router} failed ({(res.stdout + res.stderr).strip()[:200]}): "
                           "this is a testbed bug, please report it.")


def netem_available(net: "Network", node: str) -> bool:
    """Whether the kernel has the netem qdisc (tried on the node's loopback, then removed)."""
    ok = net.run_in(node, ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "0ms"],
                    capture_output=True).returncode == 0
    if ok:
        net.run_in(node, ["tc", "qdisc", "del", "dev", "lo", "root"], capture_output=True)
    return ok


# --- link faults -----------------------------------------------------------------------------
@dataclass
class LinkDown(Fault):
    """Carrier loss: both ends of a link administratively down (the kernel flushes its nexthops
    and FRR's fast-external-failover drops the eBGP session: no timer involved)."""

    link: str

    def describe(self) -> str:
        return f"{self.link}: carrier down (both ends)"

    def links(self) -> list[str]:
        return [self.link]

    def check(self, topo: Topology) -> None:
        _link(topo, self.link)

    def _set(self, net: "Network", up: bool) -> tuple[int, list[int]]:
        link = _link(net.topo, self.link)
        return set_links(net, [(link.a.node, link.a.name), (link.b.node, link.b.name)], up)

    def inject(self, net: "Network") -> Event:
        # Traffic stops when the first end goes down (its peer loses carrier with it).
        issued, (first, second) = self._set(net, up=False)
        return _stamp(_link(net.topo, self.link).a.node, "inject", self, issued, t_ns=first,
                      link=self.link, second_end_ns=second)

    def restore(self, net: "Network") -> Event:
        # Carrier returns when the second end comes up.
        issued, _ = self._set(net, up=True)
        return _stamp(_link(net.topo, self.link).b.node, "restore", self, issued, link=self.link)


@dataclass
class LinkFlap(Fault):
    """``cycles`` carrier losses: down for half the ``period_s``, up for the other half."""

    link: str
    cycles: int = 3
    period_s: float = 2.0

    def __post_init__(self) -> None:
        if self.cycles < 1 or self.period_s <= 0:
            raise TestbedError("a flap needs at least one cycle and a positive period: fix the scenario.")
        self.settle = "baseline"  # the flap ends with the link up

    def describe(self) -> str:
        return f"{self.link}: {self.cycles} flaps, {self.period_s:g} s period"

    def links(self) -> list[str]:
        return [self.link]

    def check(self, topo: Topology) -> None:
        _link(topo, self.link)

    def inject(self, net: "Network") -> Event:
        down, self.steps = LinkDown(self.link), []
        issued = now_ns()
        for i in range(self.cycles):
            ev = down.inject(net)
            self.steps.append(Event(ev.t_ns, "fault", ev.node, "flap-down", {"cycle": i + 1}))
            time.sleep(self.period_s / 2)
            ev = down.restore(net)
            self.steps.append(Event(ev.t_ns, "fault", ev.node, "flap-up", {"cycle": i + 1}))
            if i + 1 < self.cycles:
                time.sleep(self.period_s / 2)
        first = self.steps[0]
        return _stamp(first.node, "inject", self, issued, t_ns=first.t_ns, link=self.link)

    def restore(self, net: "Network") -> Event:
        """The flap left the link up: make sure of it (idempotent) and stamp."""
        issued, _ = LinkDown(self.link)._set(net, up=True)
        return _stamp(_link(net.topo, self.link).b.node, "restore", self, issued, link=self.link)


@dataclass
class _NftFault(Fault):
    """Drop rules on one end of a link, inside its node (the link keeps carrier)."""

    link: str
    node: str | None = None  # default: the link's first end (the on-prem side of ER links)

    def links(self) -> list[str]:
        return [self.link]

    def check(self, topo: Topology) -> None:
        link = _link(topo, self.link)
        if self.node is not None and self.node not in (link.a.node, link.b.node):
            raise TestbedError(f"{self.node} is not an end of {self.link}: use {link.a.node} or {link.b.node}.")

    def _where(self, topo: Topology) -> tuple[str, str]:
        link = _link(topo, self.link)
        end = link.end(self.node) if self.node else link.a
        return end.node, end.name

    def _verdict(self) -> str:
        return "drop"

    def rules(self, ifname: str) -> str:
        """The nft script that creates the fault's table (pure, for tests)."""
        v = self._verdict()
        hook = f"priority {NFT_PRIORITY}; policy accept;"
        # add + delete first: a table a crashed run left is replaced, not merged into
        return (f"add table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}\n"
                f"table inet {NFT_TABLE} {{\n"
                f"  chain input {{ type filter hook input {hook} iifname \"{ifname}\" {v}; }}\n"
                f"  chain output {{ type filter hook output {hook} oifname \"{ifname}\" {v}; }}\n"
                f"  chain forward {{ type filter hook forward {hook}\n"
                f"    iifname \"{ifname}\" {v}; oifname \"{ifname}\" {v}; }}\n"
                f"}}\n")

    def inject(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        issued = now_ns()
        nft(net, node, self.rules(ifname))
        return _stamp(node, "inject", self, issued, link=self.link, ifname=ifname)

    def restore(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        issued = now_ns()
        nft(net, node, f"delete table inet {NFT_TABLE}\n")
        return _stamp(node, "restore", self, issued, link=self.link, ifname=ifname)


@dataclass
class Blackhole(_NftFault):
    """Silent failure: everything in and out of one link end is dropped, carrier stays up
    (the gray failure BFD exists for)."""

    def describe(self) -> str:
        node = f" at {self.node}" if self.node else ""
        return f"{self.link}: silent blackhole{node} (nftables drop both ways, carrier up)"


@dataclass
class RandomLoss(_NftFault):
    """``percent`` % of packets dropped at random both ways on one link end, for ``hold_s``."""

    percent: int = 10
    duration_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.percent <= 100:
            raise TestbedError(f"loss must be 1-100 %, not {self.percent}: fix the scenario.")
        self.settle, self.hold_s = "hold", self.duration_s

    def describe(self) -> str:
        return f"{self.link}: {self.percent} % random loss both ways"

    def _verdict(self) -> str:
        return f"numgen random mod 100 < {self.percent} drop"


@dataclass
class Delay(Fault):
    """Added latency on one link end (netem). Needs the netem qdisc, which some kernels lack."""

    link: str
    delay_ms: int = 50
    node: str | None = None

    def describe(self) -> str:
        return f"{self.link}: {self.delay_ms} ms delay (netem)"

    def links(self) -> list[str]:
        return [self.link]

    def _where(self, topo: Topology) -> tuple[str, str]:
        link = _link(topo, self.link)
        end = link.end(self.node) if self.node else link.a
        return end.node, end.name

    def check(self, topo: Topology) -> None:
        _link(topo, self.link)

    def inject(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        if not netem_available(net, node):
            raise TestbedError(
                "this kernel has no netem qdisc (sch_netem), so the delay fault cannot run here: "
                "use a kernel with CONFIG_NET_SCH_NETEM, or a fault that needs no netem "
                "(loss and blackholes use nftables).")
        issued = now_ns()
        res = net.run_in(node, ["tc", "qdisc", "add", "dev", ifname, "root", "netem", "delay",
                                f"{self.delay_ms}ms"], capture_output=True, text=True)
        if res.returncode:
            raise TestbedError(f"tc in {node} refused netem ({res.stderr.strip()[:200]}).")
        return _stamp(node, "inject", self, issued, link=self.link, ifname=ifname)

    def restore(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        issued = now_ns()
        net.run_in(node, ["tc", "qdisc", "del", "dev", ifname, "root"], capture_output=True)
        return _stamp(node, "restore", self, issued, link=self.link, ifname=ifname)


# --- daemon faults ---------------------------------------------------------------------------
@dataclass
class DaemonKill(Fault):
    """SIGKILL one FRR daemon of a router (found by its pid file); restore starts it again
    with the command line FRR was started with."""

    router: str
    daemon: str = "bgpd"

    def describe(self) -> str:
        return f"{self.router}: {self.daemon} killed (SIGKILL)"

    def check(self, topo: Topology) -> None:
        _router(topo, self.router)
        if self.daemon not in topo.routers[self.router].daemons:
            raise TestbedError(f"{self.router} runs no {self.daemon}: choose one of "
                               f"{', '.join(topo.routers[self.router].daemons)}.")

    def inject(self, net: "Network") -> Event:
        pid = read_pidfile(net.frr[self.router].rundir / f"{self.daemon}.pid")
        if pid is None or not alive(pid):
            raise TestbedError(f"{self.daemon} is not running on {self.router}: the baseline is broken.")
        issued = now_ns()
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.0005)
        return _stamp(self.router, "inject", self, issued, pid=pid)

    def restore(self, net: "Network") -> Event:
        issued = now_ns()
        pid = net.frr[self.router].start_daemon(net.nodes[self.router], self.daemon)
        return _stamp(self.router, "restore", self, issued, pid=pid)


# --- BGP session faults ----------------------------------------------------------------------
def _bgp_af(net: "Network", router: str, *lines: str) -> tuple[str, ...]:
    return ("conf t", f"router bgp {net.topo.routers[router].asn}", "address-family ipv4 unicast", *lines, "end")


@dataclass
class SessionShutdown(Fault):
    """``neighbor X shutdown`` on one router for the session labelled ``label`` (a Cease
    NOTIFICATION: the peer drops the session at once)."""

    router: str
    label: str

    def describe(self) -> str:
        return f"{self.router}: BGP session {self.label} shut down"

    def check(self, topo: Topology) -> None:
        session(topo, self.router, self.label)

    def _apply(self, net: "Network", kind: str, no: str) -> Event:
        n = session(net.topo, self.router, self.label)
        issued = now_ns()
        vtysh(net, self.router, "conf t", f"router bgp {net.topo.routers[self.router].asn}",
              f"{no}neighbor {n.addr} shutdown", "end")
        return _stamp(self.router, kind, self, issued, neighbor=n.addr, session=self.label)

    def inject(self, net: "Network") -> Event:
        return self._apply(net, "inject", "")

    def restore(self, net: "Network") -> Event:
        return self._apply(net, "restore", "no ")


@dataclass
class SessionReset(Fault):
    """``clear bgp`` of one session (a hard reset); it comes back by itself."""

    router: str
    label: str

    def __post_init__(self) -> None:
        self.settle = "baseline"

    def describe(self) -> str:
        return f"{self.router}: BGP session {self.label} reset (clear bgp)"

    def check(self, topo: Topology) -> None:
        session(topo, self.router, self.label)

    def inject(self, net: "Network") -> Event:
        n = session(net.topo, self.router, self.label)
        issued = now_ns()
        vtysh(net, self.router, f"clear bgp ipv4 unicast {n.addr}")
        return _stamp(self.router, "inject", self, issued, neighbor=n.addr, session=self.label)

    def restore(self, net: "Network") -> Event:
        return _stamp(self.router, "restore", self, now_ns(), note="nothing to undo")


# --- advertisement faults --------------------------------------------------------------------
@dataclass
class PrefixFlood(Fault):
    """``router`` originates ``count`` /24s from ``pool`` (a leak: static blackholes plus
    network statements). Past the MSEE's prefix limit the MSEE drops the session; withdrawing
    them lets it come back."""

    router: str
    count: int
    pool: str = "10.128.0.0/9"

    def describe(self) -> str:
        return f"{self.router}: leaks {self.count} /24 prefixes from {self.pool}"

    def prefixes(self) -> list[str]:
        nets = ipaddress.IPv4Network(self.pool).subnets(new_prefix=24)
        out = [str(n) for _, n in zip(range(self.count), nets)]
        if len(out) < self.count:
            raise TestbedError(f"{self.pool} holds only {len(out)} /24s, not {self.count}: pick a larger pool.")
        return out

    def config(self, asn: int, withdraw: bool = False) -> list[str]:
        """The vtysh -f lines that add (or remove) the leak (pure, for tests)."""
        no = "no " if withdraw else ""
        pfx = self.prefixes()
        return ([f"{no}ip route {p} blackhole" for p in pfx]
                + [f"router bgp {asn}", " address-family ipv4 unicast"]
                + [f"  {no}network {p}" for p in pfx] + [" exit-address-family"])

    def check(self, topo: Topology) -> None:
        _router(topo, self.router)

    def _apply(self, net: "Network", kind: str, withdraw: bool) -> Event:
        issued = now_ns()
        vtysh_file(net, self.router, self.config(net.topo.routers[self.router].asn, withdraw))
        return _stamp(self.router, kind, self, issued, count=self.count, pool=self.pool)

    def inject(self, net: "Network") -> Event:
        return self._apply(net, "inject", withdraw=False)

    def restore(self, net: "Network") -> Event:
        return self._apply(net, "restore", withdraw=True)


@dataclass
class AsPathPrepend(Fault):
    """``router`` prepends its own AS ``times`` times toward the peer of session ``label``
    (Azure's maintenance drain: the MSEE about to be serviced makes its link less preferred),
    applied with a soft outbound refresh."""

    router: str
    label: str
    times: int = 3
    route_map: str = "TB-PREPEND"

    def describe(self) -> str:
        return f"{self.router}: prepends its AS x{self.times} on {self.label}"

    def check(self, topo: Topology) -> None:
        n = session(topo, self.router, self.label)
        if n.route_map_out:
            raise TestbedError(f"{self.router} already has route-map {n.route_map_out} out on {self.label}: "
                               "the prepend fault would replace it.")

    def inject(self, net: "Network") -> Event:
        n = session(net.topo, self.router, self.label)
        asn = net.topo.routers[self.router].asn
        issued = now_ns()
        vtysh(net, self.router, "conf t", f"route-map {self.route_map} permit 10",
              f"set as-path prepend {' '.join([str(asn)] * self.times)}", "exit",
              *_bgp_af(net, self.router, f"neighbor {n.addr} route-map {self.route_map} out")[1:],
              f"clear bgp ipv4 unicast {n.addr} soft out")
        return _stamp(self.router, "inject", self, issued, neighbor=n.addr, session=self.label)

    def restore(self, net: "Network") -> Event:
        n = session(net.topo, self.router, self.label)
        issued = now_ns()
        vtysh(net, self.router, *_bgp_af(net, self.router, f"no neighbor {n.addr} route-map {self.route_map} out"),
              f"clear bgp ipv4 unicast {n.addr} soft out", "conf t", f"no route-map {self.route_map}", "end")
        return _stamp(self.router, "restore", self, issued, neighbor=n.addr, session=self.label)


@dataclass
class MoreSpecific(Fault):
    """``router`` advertises ``prefix`` (a more-specific of someone's range) by a network
    statement alone (``no bgp network import-check``: no route is installed, so the router
    still forwards by the covering route)."""

    router: str
    prefix: str

    def __post_init__(self) -> None:
        # Nothing the baseline watches changes (only a /24 appears on the Azure side): hold
        # the leak long enough to see where each direction's traffic goes.
        self.settle, self.hold_s = "hold", 3.0

    def describe(self) -> str:
        return f"{self.router}: advertises more-specific {self.prefix}"

    def check(self, topo: Topology) -> None:
        _router(topo, self.router)
        ipaddress.IPv4Network(self.prefix)

    def _apply(self, net: "Network", kind: str, no: str) -> Event:
        issued = now_ns()
        vtysh(net, self.router, *_bgp_af(net, self.router, f"{no}network {self.prefix}"))
        return _stamp(self.router, kind, self, issued, prefix=self.prefix)

    def inject(self, net: "Network") -> Event:
        return self._apply(net, "inject", "")

    def restore(self, net: "Network") -> Event:
        return self._apply(net, "restore", "no ")


@dataclass
class Together(Fault):
    """Several faults at once (both ER links of a circuit, every link of a gateway instance);
    the instant it took effect is the first part's, restore undoes them in reverse order."""

    parts: list[Fault]
    what: str = ""

    def describe(self) -> str:
        return self.what or " + ".join(f.describe() for f in self.parts)

    def links(self) -> list[str]:
        return [label for f in self.parts for label in f.links()]

    def check(self, topo: Topology) -> None:
        for f in self.parts:
            f.check(topo)

    def inject(self, net: "Network") -> Event:
        events = [f.inject(net) for f in self.parts]
        self.steps = events[1:]
        first = events[0]
        return Event(first.t_ns, "fault", first.node, "inject",
                     {**first.detail, "fault": self.name, "what": self.describe()})

    def restore(self, net: "Network") -> Event:
        events = [f.restore(net) for f in reversed(self.parts)]
        last = events[-1]
        return Event(last.t_ns, "fault", last.node, "restore",
                     {**last.detail, "fault": self.name, "what": self.describe()})
