"""Read an FRR config statically: the parts the Azure checks and the config mapping look at.

Not a full FRR parser: it keeps, with their line numbers, the BGP instance of the default VRF
(local AS, timers, neighbors and peer groups with their options, networks, redistribution),
static routes, prefix lists, route maps and interface blocks. It follows FRR's own layout
(``vtysh`` indents sub-blocks) but does not need it: a known top-level command at the start of
a line ends the block it is in, as FRR's parser does.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from testbed.errors import TestbedError

# First words that begin a top-level command (FRR falls back to the top node for these).
TOP_LEVEL = {
    "router", "route-map", "interface", "ip", "ipv6", "bfd", "vrf", "hostname", "log", "frr",
    "service", "line", "end", "password", "enable", "debug", "access-list", "agentx",
    "segment-routing", "key", "nexthop-group", "pbr-map", "mpls", "fpm", "zebra", "no", "table",
}
BGP_TOP_LEVEL = {"as-path", "community-list", "large-community-list", "extcommunity-list"}


@dataclass
class Option:
    args: list[str]
    line: int


@dataclass
class Neighbor:
    """``neighbor NAME ...`` lines: NAME is an address, a peer group or an interface."""

    name: str
    line: int
    is_group: bool = False
    opts: dict[str, Option] = field(default_factory=dict)   # "remote-as", "bfd", "route-map out"...


@dataclass
class PrefixEntry:
    action: str                       # permit | deny
    prefix: ipaddress.IPv4Network
    ge: int | None
    le: int | None
    line: int

    def lengths(self) -> range:
        """The prefix lengths this entry matches."""
        lo = self.ge if self.ge is not None else self.prefix.prefixlen
        hi = self.le if self.le is not None else (32 if self.ge is not None else self.prefix.prefixlen)
        return range(lo, hi + 1)

    def matches(self, net: ipaddress.IPv4Network) -> bool:
        return net.subnet_of(self.prefix) and net.prefixlen in self.lengths()

    def capacity(self) -> int:
        """How many distinct prefixes it can permit."""
        return sum(2 ** (n - self.prefix.prefixlen) for n in self.lengths())


@dataclass
class RouteMapEntry:
    action: str
    seq: int
    line: int
    matches: dict[str, Option] = field(default_factory=dict)   # "ip address prefix-list" -> [NAME]
    sets: dict[str, Option] = field(default_factory=dict)      # "local-preference" -> [150]


@dataclass
class Static:
    prefix: ipaddress.IPv4Network
    via: list[str]
    line: int


@dataclass
class FrrConfig:
    path: str
    asn: int | None = None
    asn_line: int = 0
    timers: Option | None = None                 # router-level ``timers bgp K H``
    default_local_pref: int = 100
    neighbors: dict[str, Neighbor] = field(default_factory=dict)
    networks: list[tuple[ipaddress.IPv4Network, int]] = field(default_factory=list)
    redistribute: dict[str, int] = field(default_factory=dict)   # "static" -> line
    statics: list[Static] = field(default_factory=list)
    prefix_lists: dict[str, list[PrefixEntry]] = field(default_factory=dict)
    route_maps: dict[str, list[RouteMapEntry]] = field(default_factory=dict)
    interfaces: dict[str, dict[str, Option]] = field(default_factory=dict)  # name -> {"mtu": ..}
    interface_lines: dict[str, int] = field(default_factory=dict)

    # --- resolved views ---
    def peers(self) -> list[Neighbor]:
        """Neighbors that are sessions (not peer groups), in config order."""
        return [n for n in self.neighbors.values() if not n.is_group]

    def opt(self, peer: Neighbor, key: str) -> Option | None:
        """``peer``'s option, or its peer group's."""
        if key in peer.opts:
            return peer.opts[key]
        group = peer.opts.get("peer-group")
        if group and group.args and group.args[0] in self.neighbors:
            return self.neighbors[group.args[0]].opts.get(key)
        return None

    def remote_as(self, peer: Neighbor) -> int | None:
        o = self.opt(peer, "remote-as")
        return int(o.args[0]) if o and o.args and o.args[0].isdigit() else None

    def address(self, peer: Neighbor) -> ipaddress.IPv4Address | None:
        try:
            return ipaddress.IPv4Address(peer.name)
        except ValueError:
            return None

    def line_of(self, peer: Neighbor) -> int:
        """The peer's own remote-as line, else its first line (a peer group member)."""
        o = peer.opts.get("remote-as")
        return o.line if o else peer.line


def _int(tok: str, what: str, path: str, no: int) -> int:
    try:
        return int(tok)
    except ValueError:
        raise TestbedError(f"{path} line {no}: {what} {tok!r} is not a number: fix that line.") from None


def parse(text: str, path: str = "<config>") -> FrrConfig:
    cfg = FrrConfig(path=path)
    ctx = "top"           # top | bgp | af | af-other | bgp-vrf | route-map | interface | other
    rm: RouteMapEntry | None = None
    iface: str | None = None
    for no, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        if not words or words[0].startswith("!"):
            continue
        first = words[0]
        indented = raw[:1].isspace()
        if not indented and (first in TOP_LEVEL or (first == "bgp" and words[1:2] and words[1] in BGP_TOP_LEVEL)):
            ctx = "top"
        if first == "end":
            ctx = "top"
            continue
        if first == "exit-address-family" or (first == "exit" and ctx in ("af", "af-other")):
            ctx = "bgp" if ctx in ("af", "af-other") else ctx
            continue
        if first == "exit":
            ctx = "top"
            continue

        if ctx == "top":
            ctx, rm, iface = _top(cfg, words, no)
        elif ctx in ("bgp", "af"):
            if first == "address-family":
                ctx = "af" if words[1:2] == ["ipv4"] and words[2:3] in ([], ["unicast"]) else "af-other"
            else:
                _bgp(cfg, words, no)
        elif ctx == "route-map" and rm is not None:
            kind = "matches" if first == "match" else "sets" if first == "set" else None
            if kind and len(words) > 1:
                # "match ip address prefix-list NAME" -> key "ip address prefix-list", args [NAME]
                key_len = 3 if words[1:4] == ["ip", "address", "prefix-list"] else 1
                getattr(rm, kind)[" ".join(words[1:1 + key_len])] = Option(words[1 + key_len:], no)
        elif ctx == "interface" and iface is not None:
            for key_len in (3, 2, 1):   # "ip tcp adjust-mss", "ip mtu", "mtu"
                key = " ".join(words[:key_len])
                if key in ("ip tcp adjust-mss", "ipv6 nd mtu", "ip mtu", "mtu", "ip address"):
                    cfg.interfaces[iface][key] = Option(words[key_len:], no)
                    break
    return cfg


def _top(cfg: FrrConfig, words: list[str], no: int) -> tuple[str, RouteMapEntry | None, str | None]:
    first = words[0]
    if first == "router" and words[1:2] == ["bgp"]:
        if "vrf" in words:
            return "bgp-vrf", None, None
        if len(words) > 2:
            cfg.asn, cfg.asn_line = _int(words[2], "AS number", cfg.path, no), no
        return "bgp", None, None
    if first == "route-map" and len(words) >= 3:
        entry = RouteMapEntry(action=words[2], seq=_int(words[3], "sequence", cfg.path, no) if len(words) > 3 else 10,
                              line=no)
        cfg.route_maps.setdefault(words[1], []).append(entry)
        return "route-map", entry, None
    if first == "interface" and len(words) >= 2:
        cfg.interfaces.setdefault(words[1], {})
        cfg.interface_lines.setdefault(words[1], no)
        return "interface", None, words[1]
    if words[:2] == ["ip", "prefix-list"] and len(words) >= 4:
        _prefix_list(cfg, words, no)
    elif words[:2] == ["ip", "route"] and len(words) >= 4:
        try:
            prefix = ipaddress.IPv4Network(words[2], strict=False)
        except ValueError:
            return "top", None, None
        cfg.statics.append(Static(prefix, words[3:], no))
    return ("other" if first in ("bfd", "vrf", "line", "key", "segment-routing") else "top"), None, None


def _prefix_list(cfg: FrrConfig, words: list[str], no: int) -> None:
    name, rest = words[2], words[3:]
    if rest[:1] == ["seq"]:
        rest = rest[2:]
    if not rest or rest[0] not in ("permit", "deny"):
        return                                    # description, or another address family's form
    action, spec = rest[0], rest[1:]
    if spec[:1] == ["any"] or not spec:
        prefix, ge, le = ipaddress.IPv4Network("0.0.0.0/0"), None, 32
    else:
        prefix = ipaddress.IPv4Network(spec[0], strict=False)
        opts = dict(zip(spec[1::2], spec[2::2]))
        ge = _int(opts["ge"], "ge", cfg.path, no) if "ge" in opts else None
        le = _int(opts["le"], "le", cfg.path, no) if "le" in opts else None
    cfg.prefix_lists.setdefault(name, []).append(PrefixEntry(action, prefix, ge, le, no))


def _bgp(cfg: FrrConfig, words: list[str], no: int) -> None:
    first = words[0]
    if first == "neighbor" and len(words) >= 3:
        name, kw, args = words[1], words[2], words[3:]
        n = cfg.neighbors.setdefault(name, Neighbor(name, no))
        if kw == "peer-group" and not args:
            n.is_group = True
            return
        if kw in ("route-map", "prefix-list", "filter-list", "distribute-list") and len(args) >= 2:
            kw, args = f"{kw} {args[-1]}", args[:-1]           # "route-map out" -> [NAME]
        elif kw == "timers" and args[:1] == ["connect"]:
            kw, args = "timers connect", args[1:]
        n.opts[kw] = Option(args, no)
    elif first in ("network", "aggregate-address") and len(words) >= 2:
        try:
            cfg.networks.append((ipaddress.IPv4Network(words[1], strict=False), no))
        except ValueError:
            pass                                       # "network A.B.C.D mask M": not used here
    elif first == "redistribute" and len(words) >= 2:
        cfg.redistribute[words[1]] = no
    elif words[:2] == ["timers", "bgp"] and len(words) >= 4:
        cfg.timers = Option(words[2:4], no)
    elif words[:3] == ["bgp", "default", "local-preference"] and len(words) >= 4:
        cfg.default_local_pref = _int(words[3], "local-preference", cfg.path, no)


def load(path: str | Path) -> FrrConfig:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise TestbedError(f"cannot read config {p}: {e.strerror}; check the path.") from e
    return parse(text, str(p))
