"""Silent failures inside a node: nftables drop rules on one link end (the link keeps carrier)."""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from testbed.errors import TestbedError
from testbed.faults.base import Fault, stamp
from testbed.model.events import Event, now_ns
from testbed.model.topo import Topology
from testbed.system import nft

if TYPE_CHECKING:
    from testbed.runtime.net import Network

NFT_PRIORITY = -400  # before anything else in the node (the path marks, conntrack)


@dataclass
class _NftFault(Fault):
    """Drop rules on one end of a link, inside its node (the link keeps carrier)."""

    link: str
    node: str | None = None  # default: the link's first end (the on-prem side of ER links)
    _armed: bool = field(default=False, init=False, repr=False)
    #: its own table, so that two faults on one node neither replace nor restore each other
    table: str = field(default_factory=lambda: f"{nft.FAULT_TABLES}-{secrets.token_hex(3)}",
                       init=False, repr=False, compare=False)

    def links(self) -> list[str]:
        return [self.link]

    def check(self, topo: Topology) -> None:
        link = topo.link_named(self.link)
        if self.node is not None and self.node not in (link.a.node, link.b.node):
            raise TestbedError(f"{self.node} is not an end of {self.link}: use {link.a.node} or {link.b.node}.")

    def _where(self, topo: Topology) -> tuple[str, str]:
        link = topo.link_named(self.link)
        end = link.end(self.node) if self.node else link.a
        return end.node, end.name

    def _verdict(self) -> str:
        return "drop"

    def rules(self, ifname: str) -> str:
        """The nft script that creates the fault's table (pure, for tests)."""
        v = self._verdict()
        hook = f"priority {NFT_PRIORITY}; policy accept;"
        # add + delete first: a second inject replaces the table, it does not merge into it
        return (f"add table inet {self.table}\ndelete table inet {self.table}\n"
                f"table inet {self.table} {{\n"
                f"  chain input {{ type filter hook input {hook} iifname \"{ifname}\" {v}; }}\n"
                f"  chain output {{ type filter hook output {hook} oifname \"{ifname}\" {v}; }}\n"
                f"  chain forward {{ type filter hook forward {hook}\n"
                f"    iifname \"{ifname}\" {v}; oifname \"{ifname}\" {v}; }}\n"
                f"}}\n")

    def chains(self) -> str:
        """The nft script that creates the fault's table with its chains and no rule (armed)."""
        hook = f"priority {NFT_PRIORITY}; policy accept;"
        return (f"add table inet {self.table}\ndelete table inet {self.table}\n"
                f"table inet {self.table} {{\n"
                + "".join(f"  chain {c} {{ type filter hook {c} {hook} }}\n" for c in ("input", "output", "forward"))
                + "}\n")

    def rule_lines(self, ifname: str) -> str:
        """The rules alone, for an armed table (pure, for tests)."""
        v = self._verdict()
        return "".join(f"add rule inet {self.table} {chain} {match} \"{ifname}\" {v}\n"
                       for chain, match in (("input", "iifname"), ("output", "oifname"),
                                            ("forward", "iifname"), ("forward", "oifname")))

    @contextmanager
    def armed(self, net: "Network") -> Iterator[None]:
        node, _ = self._where(net.topo)
        nft.apply(net.pid(node), self.chains())
        self._armed = True
        try:
            yield
        finally:
            self._armed = False
            nft.apply(net.pid(node), f"add table inet {self.table}\ndelete table inet {self.table}\n")

    def inject(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        script = self.rule_lines(ifname) if self._armed else self.rules(ifname)
        issued = now_ns()
        committed = nft.apply(net.pid(node), script)
        return stamp(node, "inject", self, issued, t_ns=committed, link=self.link, ifname=ifname)

    def restore(self, net: "Network") -> Event:
        node, ifname = self._where(net.topo)
        script = f"flush table inet {self.table}\n" if self._armed else f"delete table inet {self.table}\n"
        issued = now_ns()
        committed = nft.apply(net.pid(node), script)
        return stamp(node, "restore", self, issued, t_ns=committed, link=self.link, ifname=ifname)


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
