"""Static Azure conformance checks on on-prem FRR configs (``testbed lint CONFIG...``).

Each rule reads the configs (``testbed.daemons.frrconf``) and yields findings that name the file, the
line and the fix. Peers are recognised by what Azure uses: remote-as 12076 is an MSEE
(ExpressRoute); remote-as 65515 or an APIPA address (169.254.21.x/22.x) is the VPN gateway.
Rules that compare ExpressRoute with the VPN look at all the files given together, as the two
usually sit on different routers.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from testbed.daemons.frrconf import FrrConfig, Neighbor, PrefixEntry, load
from testbed.model.params import DEFAULTS, RESERVED_ASNS

MSEE_ASN = DEFAULTS["msee.asn"].default                     # 12076
VPN_GW_ASN = DEFAULTS["vpngw.asn"].default                  # 65515
PREFIX_LIMIT = DEFAULTS["msee.prefix_limit"].default        # 4,000
PREFIX_LIMIT_PREMIUM = DEFAULTS["msee.prefix_limit_premium"].default   # 10,000
MIN_KEEPALIVE = DEFAULTS["msee.min_keepalive_s"].default    # 3 s
MIN_HOLD = DEFAULTS["msee.min_hold_s"].default              # 10 s
TUNNEL_MTU = DEFAULTS["vpn.mtu"].default                    # 1,400
TUNNEL_MSS = DEFAULTS["vpn.mss"].default                    # 1,350
# docs/azure.md#site-to-site-vpn-gateway: custom APIPA BGP addresses for the VPN gateway lie in 169.254.21.0-169.254.22.255.
APIPA = (ipaddress.IPv4Network("169.254.21.0/24"), ipaddress.IPv4Network("169.254.22.0/24"))


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}; fix: {self.fix}"


# --- who is who -------------------------------------------------------------------------------
def is_er(cfg: FrrConfig, peer: Neighbor) -> bool:
    return cfg.remote_as(peer) == MSEE_ASN


def is_apipa(cfg: FrrConfig, peer: Neighbor) -> bool:
    addr = cfg.address(peer)
    return addr is not None and any(addr in net for net in APIPA)


def is_vpn(cfg: FrrConfig, peer: Neighbor) -> bool:
    return cfg.remote_as(peer) == VPN_GW_ASN or is_apipa(cfg, peer)


def is_azure(cfg: FrrConfig, peer: Neighbor) -> bool:
    return is_er(cfg, peer) or is_vpn(cfg, peer)


# --- rules on one file ------------------------------------------------------------------------
def reserved_asn(cfg: FrrConfig) -> Iterator[Finding]:
    if cfg.asn in RESERVED_ASNS:
        yield Finding(cfg.path, cfg.asn_line, f"local AS {cfg.asn} is reserved by Azure "
                      "(65515-65520, 8074, 8075, 12076): Azure refuses the peering",
                      "use another private ASN, such as 65020, in 'router bgp'")
    for peer in cfg.peers():
        o = cfg.opt(peer, "local-as")
        if o and o.args and o.args[0].isdigit() and int(o.args[0]) in RESERVED_ASNS:
            yield Finding(cfg.path, o.line, f"neighbor {peer.name} local-as {o.args[0]} is reserved by Azure",
                          "use a private ASN outside 65515-65520, 8074, 8075 and 12076")


def er_bfd(cfg: FrrConfig) -> Iterator[Finding]:
    for peer in cfg.peers():
        if is_er(cfg, peer) and cfg.opt(peer, "bfd") is None:
            yield Finding(cfg.path, cfg.line_of(peer), f"no BFD toward MSEE {peer.name}: a failure is noticed "
                          "only when the BGP hold timer expires (up to 180 s)",
                          f"add 'neighbor {peer.name} bfd' (the MSEEs run BFD at 300 ms x 3)")


def timers(cfg: FrrConfig) -> Iterator[Finding]:
    def low(args: list[str]) -> bool:
        try:
            keepalive, hold = int(args[0]), int(args[1])
        except (ValueError, IndexError):
            return False
        return keepalive < MIN_KEEPALIVE or hold < MIN_HOLD

    fix = f"use keepalive >= {MIN_KEEPALIVE} s and hold >= {MIN_HOLD} s, and BFD for fast detection"
    azure = [p for p in cfg.peers() if is_azure(cfg, p)]
    for peer in azure:
        o = cfg.opt(peer, "timers")
        if o and low(o.args):
            yield Finding(cfg.path, o.line, f"timers {' '.join(o.args)} toward Azure peer {peer.name} are below "
                          f"Azure's minimum keepalive {MIN_KEEPALIVE} s / hold {MIN_HOLD} s", fix)
    if cfg.timers and low(cfg.timers.args) and any(cfg.opt(p, "timers") is None for p in azure):
        yield Finding(cfg.path, cfg.timers.line, f"timers bgp {' '.join(cfg.timers.args)} apply to Azure peers and "
                      f"are below Azure's minimum keepalive {MIN_KEEPALIVE} s / hold {MIN_HOLD} s", fix)


def vpn_session(cfg: FrrConfig) -> Iterator[Finding]:
    """docs/azure.md#site-to-site-vpn-gateway: on-prem needs a /32 host route to the Azure BGP address and eBGP multihop."""
    hosts = {s.prefix for s in cfg.statics if s.prefix.prefixlen == 32}
    for peer in cfg.peers():
        if not is_apipa(cfg, peer):
            continue
        line = cfg.line_of(peer)
        if ipaddress.IPv4Network(f"{peer.name}/32") not in hosts:
            yield Finding(cfg.path, line, f"no /32 route to the VPN gateway's BGP address {peer.name}",
                          f"add 'ip route {peer.name}/32 <tunnel interface>'")
        if cfg.opt(peer, "ebgp-multihop") is None:
            yield Finding(cfg.path, line, f"no eBGP multihop toward the VPN gateway's BGP address {peer.name} "
                          "(it is not on a connected subnet)", f"add 'neighbor {peer.name} ebgp-multihop 2'")


def tunnel_mtu(cfg: FrrConfig) -> Iterator[Finding]:
    tunnels = {tok for s in cfg.statics if any(s.prefix.subnet_of(n) for n in APIPA) for tok in s.via}
    tunnels |= {name for name in cfg.interfaces if name.startswith(("ipsec", "vti", "tun"))}
    for name in sorted(tunnels & set(cfg.interfaces)):
        opts = cfg.interfaces[name]
        for key in ("mtu", "ip mtu", "ipv6 nd mtu"):
            o = opts.get(key)
            if o and o.args and o.args[0].isdigit() and int(o.args[0]) > TUNNEL_MTU:
                yield Finding(cfg.path, o.line, f"{key} {o.args[0]} on tunnel interface {name} is above the "
                              f"Azure tunnel's {TUNNEL_MTU}", f"set it to {TUNNEL_MTU} or less")
        o = opts.get("ip tcp adjust-mss")
        if o and o.args and o.args[0].isdigit() and int(o.args[0]) > TUNNEL_MSS:
            yield Finding(cfg.path, o.line, f"TCP MSS {o.args[0]} on tunnel interface {name} is above Azure's "
                          f"{TUNNEL_MSS}", f"clamp it to {TUNNEL_MSS}")
    for peer in cfg.peers():
        o = cfg.opt(peer, "tcp-mss")
        if is_vpn(cfg, peer) and o and o.args and o.args[0].isdigit() and int(o.args[0]) > TUNNEL_MSS:
            yield Finding(cfg.path, o.line, f"tcp-mss {o.args[0]} toward {peer.name} is above the tunnel's "
                          f"{TUNNEL_MSS}", f"use 'neighbor {peer.name} tcp-mss {TUNNEL_MSS}' or less")


# --- what is advertised -----------------------------------------------------------------------
@dataclass
class Outbound:
    """What a router may advertise to one peer, as far as its config tells."""

    cfg: FrrConfig
    peer: Neighbor
    filter: list[PrefixEntry] | None      # permit entries of the outbound prefix lists; None: no filter
    origins: list[tuple[ipaddress.IPv4Network, int]]   # prefixes this router originates (and line)

    def passes(self, net: ipaddress.IPv4Network) -> bool:
        return self.filter is None or any(e.matches(net) for e in self.filter)

    def originated(self) -> list[tuple[ipaddress.IPv4Network, int]]:
        return [(n, line) for n, line in self.origins if self.passes(n)]

    def ranges(self) -> list[PrefixEntry] | None:
        """The prefixes it may send as prefix-list entries; None when not determinable (no
        filter, and routes learned from other peers may pass)."""
        if self.filter is not None:
            return self.filter
        return [PrefixEntry("permit", n, None, None, line) for n, line in self.origins] or None


def _prefix_list_entries(cfg: FrrConfig, names: Iterable[str]) -> list[PrefixEntry]:
    """The permit entries of the named prefix lists (deny entries only narrow them: ignored,
    which errs toward reporting)."""
    return [e for name in names for e in cfg.prefix_lists.get(name, []) if e.action == "permit"]


def outbound(cfg: FrrConfig, peer: Neighbor) -> Outbound:
    lists: list[str] | None = None
    pl = cfg.opt(peer, "prefix-list out")
    if pl and pl.args:
        lists = [pl.args[0]]
    rm = cfg.opt(peer, "route-map out")
    if rm and rm.args and rm.args[0] in cfg.route_maps:
        permits = [e for e in cfg.route_maps[rm.args[0]] if e.action == "permit"]
        matched = [e.matches.get("ip address prefix-list") for e in permits]
        if matched and all(m and m.args for m in matched):
            lists = (lists or []) + [m.args[0] for m in matched]
        elif not permits:
            lists = lists or []                   # a route map with no permit: nothing passes
    origins = list(cfg.networks)
    if "static" in cfg.redistribute:
        origins += [(s.prefix, s.line) for s in cfg.statics
                    if s.prefix.prefixlen < 32 and s.prefix != ipaddress.IPv4Network("0.0.0.0/0")]
    return Outbound(cfg, peer, None if lists is None else _prefix_list_entries(cfg, lists), origins)


def prefix_count(cfg: FrrConfig, limit: int) -> Iterator[Finding]:
    """docs/azure.md#prefix-limits: over 4,000 (10,000 Premium) advertised prefixes the MSEE drops the session."""
    fix = ("advertise summaries only (an outbound prefix list of your aggregates, "
           f"at most {limit:,} prefixes)")
    for peer in cfg.peers():
        if not is_er(cfg, peer):
            continue
        out = outbound(cfg, peer)
        count = len({n for n, _ in out.originated()})
        if count > limit:
            yield Finding(cfg.path, cfg.line_of(peer), f"{count:,} prefixes would be advertised to MSEE {peer.name}, "
                          f"above Azure's limit of {limit:,}: the MSEE drops the session", fix)
        capacity = sum(e.capacity() for e in out.filter or [])
        if capacity > limit:
            widest = max(out.filter or [], key=PrefixEntry.capacity)
            yield Finding(cfg.path, widest.line, f"the outbound filter toward MSEE {peer.name} lets up to "
                          f"{capacity:,} prefixes through, above Azure's limit of {limit:,}: a leak drops "
                          "the session", "permit your aggregates exactly (no 'le'/'ge' ranges, no 'any')")


# --- rules across the files -------------------------------------------------------------------
def _local_prefs(cfg: FrrConfig, peer: Neighbor) -> list[tuple[int, int, bool]]:
    """(local preference, line, AS path prepended) of each permit entry of the peer's inbound
    route map; the router's default when there is none."""
    o = cfg.opt(peer, "route-map in")
    entries = cfg.route_maps.get(o.args[0], []) if o and o.args else []
    out = []
    for e in entries:
        if e.action != "permit":
            continue
        lp = e.sets.get("local-preference")
        value = int(lp.args[0]) if lp and lp.args and lp.args[0].isdigit() else cfg.default_local_pref
        out.append((value, lp.line if lp else e.line, "as-path" in e.sets))
    return out or [(cfg.default_local_pref, o.line if o else cfg.line_of(peer), False)]


def er_preferred(configs: list[FrrConfig]) -> Iterator[Finding]:
    """docs/azure.md#route-preference: on-prem must mirror Azure's choice with a higher local preference on routes
    learned over ExpressRoute (or AS-path prepending on the VPN), else traffic is asymmetric."""
    er = [(c, p, lp) for c in configs for p in c.peers() if is_er(c, p) for lp in _local_prefs(c, p)]
    vpn = [(c, p, lp) for c in configs for p in c.peers() if is_vpn(c, p) for lp in _local_prefs(c, p)]
    if not er or not vpn:
        return
    c_er, p_er, (er_lp, er_line, _) = min(er, key=lambda t: t[2][0])
    seen = set()
    for c, p, (lp, line, prepended) in vpn:
        if (c.path, line) in seen:
            continue                              # peers sharing one route map: said once
        seen.add((c.path, line))
        if lp > er_lp or (lp == er_lp and not prepended):
            yield Finding(c.path, line, f"routes from the VPN ({p.name}) get local-preference {lp}, routes from "
                          f"ExpressRoute ({p_er.name}, {c_er.path}:{er_line}) {er_lp}: on-prem "
                          f"{'prefers the VPN' if lp > er_lp else 'does not prefer ExpressRoute'} while Azure "
                          "prefers ExpressRoute, so traffic would be asymmetric",
                          "set a higher local-preference on ExpressRoute routes (e.g. 150) than on VPN routes (100)")


def more_specific_vpn(configs: list[FrrConfig]) -> Iterator[Finding]:
    """docs/azure.md#route-preference: a more-specific prefix advertised over the VPN pulls Azure-to-on-prem
    traffic for it onto the VPN (Azure takes the longest prefix before preferring ExpressRoute)."""
    er_ranges: list[PrefixEntry] = []
    for c in configs:
        for p in c.peers():
            if is_er(c, p):
                ranges = outbound(c, p).ranges()
                if ranges is None:
                    return                        # ExpressRoute's set is not determinable
                er_ranges += ranges
    if not er_ranges:
        return
    seen = set()
    for c in configs:
        for p in c.peers():
            if not is_vpn(c, p) or is_er(c, p):
                continue
            for v in outbound(c, p).ranges() or []:
                if (c.path, v.line) in seen:
                    continue                      # peers sharing one filter: said once
                seen.add((c.path, v.line))
                wider = [e for e in er_ranges if v.prefix.overlaps(e.prefix)]
                longest_er = max((max(e.lengths()) for e in wider), default=None)
                if longest_er is not None and max(v.lengths()) > longest_er:
                    yield Finding(c.path, v.line, f"{v.prefix}{_range(v)} may be advertised to the VPN ({p.name}), "
                                  f"more specific than ExpressRoute's {_some(wider)}: "
                                  "Azure would send that traffic over the VPN (asymmetric routing)",
                                  "advertise the same prefixes over the VPN as over ExpressRoute, or only shorter ones")


def _some(entries: list[PrefixEntry], shown: int = 3) -> str:
    text = ", ".join(f"{e.prefix}{_range(e)}" for e in entries[:shown])
    return text + (f" (+{len(entries) - shown} more)" if len(entries) > shown else "")


def _range(e: PrefixEntry) -> str:
    return "".join(f" {k} {v}" for k, v in (("ge", e.ge), ("le", e.le)) if v is not None)


# --- running ----------------------------------------------------------------------------------
PER_FILE: list[Callable[[FrrConfig], Iterator[Finding]]] = [reserved_asn, er_bfd, timers, vpn_session, tunnel_mtu]
ACROSS: list[Callable[[list[FrrConfig]], Iterator[Finding]]] = [er_preferred, more_specific_vpn]


def lint(configs: list[FrrConfig], premium: bool = False) -> list[Finding]:
    limit = PREFIX_LIMIT_PREMIUM if premium else PREFIX_LIMIT
    found: list[Finding] = []
    for cfg in configs:
        for rule in PER_FILE:
            found += rule(cfg)
        found += prefix_count(cfg, limit)
    for rule in ACROSS:
        found += rule(configs)
    return sorted(set(found), key=lambda f: (f.path, f.line, f.problem))


def lint_files(paths: Iterable[str | Path], premium: bool = False) -> list[Finding]:
    return lint([load(p) for p in paths], premium=premium)
