"""Parameters: every Azure number with Azure's value as the default, overridable and validated.

Keys are dotted (``bfd.interval_ms``). Values come, in order, from the defaults below, an
optional params file (TOML or JSON, nested tables or dotted keys) and ``--set K=V``. An unknown
key is an error: a typo must never silently fall back to a default.
"""
from __future__ import annotations

import ipaddress
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from testbed.errors import TestbedError

# ASNs a customer may not use on ExpressRoute (docs/azure.md#expressroute-private-peering: 65515-65520, 8074,
# 8075, 12076).
RESERVED_ASNS = frozenset({8074, 8075, 12076, *range(65515, 65521)})


@dataclass(frozen=True)
class Param:
    default: Any
    help: str
    #: not an Azure behaviour but the testbed's own (docs/azure.md#what-the-testbed-adds): results
    #: list these apart, so that a figure is never read as Azure's without them
    addition: bool = False


# fmt: off
DEFAULTS: dict[str, Param] = {
    # --- on-premises network (the customer's side) ---
    "onprem.asn":            Param(65020, "on-prem AS number (must not be an Azure-reserved ASN)"),
    "onprem.prefix":         Param("10.20.0.0/16", "on-prem address space advertised to Azure"),
    "onprem.lan":            Param("10.20.1.0/24", "on-prem LAN of host h1 (inside onprem.prefix)"),
    "onprem.links":          Param("10.20.255.0/24", "pool for on-prem router-to-router /30 links"),
    "onprem.keepalive_s":    Param(60, "BGP keepalive the CEs configure toward the MSEEs"),
    "onprem.hold_s":         Param(180, "BGP hold time the CEs configure toward the MSEEs"),
    "onprem.bfd":            Param(True, "CEs run BFD toward the MSEEs"),
    # docs/azure.md#bfd: the customer sets its own CE's BFD timers; the slower side sets the rate.
    # 0 follows the MSEE's (300 ms x 3), so that --set bfd.interval_ms=100 still moves both ends.
    "onprem.bfd_interval_ms": Param(0, "CE BFD transmit/receive interval toward the MSEEs (ms; 0: the MSEE's, bfd.interval_ms)"),
    "onprem.bfd_multiplier": Param(0, "CE BFD detection multiplier (0: the MSEE's, bfd.multiplier)"),
    # docs/azure.md#md5: MD5 is optional; a key of the edges' own rehearses a mismatch.
    "onprem.md5_key_file":   Param("", "on-prem edges' own MD5 key file, if it differs from the circuit's (to rehearse a mismatch)"),
    # --- ExpressRoute private peering ---
    # docs/azure.md#expressroute-private-peering: "a /29 split in two /30s; first /30 = primary, second = secondary;
    # customer .1, Microsoft .2" (example 192.168.100.128/29).
    "er.peering_subnet":     Param("192.168.100.128/29", "ER private-peering /29 (primary /30, secondary /30)"),
    # docs/azure.md#expressroute-private-peering: Microsoft ASN 12076.
    "msee.asn":              Param(12076, "Microsoft edge (MSEE) AS number"),
    # docs/azure.md#bgp-timers: keepalive 60 s, hold 180 s on the MSEE.
    "msee.keepalive_s":      Param(60, "MSEE BGP keepalive (s)"),
    "msee.hold_s":           Param(180, "MSEE BGP hold time (s)"),
    # docs/azure.md#bgp-timers: the customer may set lower ones, down to keepalive 3 s / hold 10 s.
    "msee.min_keepalive_s":  Param(3, "lowest keepalive the MSEE accepts (s)"),
    "msee.min_hold_s":       Param(10, "lowest hold time the MSEE accepts (s)"),
    # docs/azure.md#prefix-limits: 4,000 IPv4 (10,000 with Premium); over it the session is dropped.
    "msee.prefix_limit":     Param(4000, "IPv4 prefixes a customer may advertise (standard SKU)"),
    "msee.prefix_limit_premium": Param(10000, "IPv4 prefix limit with the Premium add-on"),
    "er.premium":            Param(False, "ExpressRoute Premium add-on (raises the prefix limit)"),
    # docs/azure.md#inferred-or-unconfirmed: Azure does not document how soon a dropped session
    # is retried, only that it comes back once the count falls below. We retry after this long.
    "msee.prefix_limit_retry_s": Param(5, "seconds before the MSEE retries a session it dropped for the prefix limit (unconfirmed)"),
    # Each pair of routers of a circuit talks iBGP over its own link, so that a router whose ER
    # link fails reroutes through its twin at once (docs/azure.md#what-the-testbed-adds).
    "er.ce_interconnect":    Param(True, "ce1 and ce2 run iBGP over a direct link (on-prem HA pair)", addition=True),
    "er.msee_interconnect":  Param(True, "msee1 and msee2 run iBGP over a direct link (Microsoft's edge pair)", addition=True),
    "msee.backbone":         Param("172.31.0.0/24", "pool for MSEE-to-gateway links (Microsoft backbone)"),
    # docs/azure.md#mtu: ExpressRoute carries packets of at most 1,400 bytes and its gateway does
    # not take fragments.
    "er.mtu":                Param(1400, "largest IP packet over the ExpressRoute private-peering links (bytes)"),
    # docs/azure.md#prefix-limits: the gateway advertises at most 1,000 IPv4 VNet prefixes per
    # connection (hub and gateway-transit spokes); above it the connection goes down.
    "ergw.advertise_limit":  Param(1000, "IPv4 VNet prefixes Azure advertises to on-prem per ExpressRoute connection"),
    # --- BFD (docs/azure.md#bfd: on by default on the MSEE, 300 ms transmit/receive, x 3) ---
    "bfd.enabled":           Param(True, "MSEE runs BFD on private peering"),
    "bfd.interval_ms":       Param(300, "MSEE BFD transmit/receive interval (ms; Azure: 300, 750 in some cases)"),
    "bfd.multiplier":        Param(3, "MSEE BFD detection multiplier"),
    # --- Azure virtual network and ExpressRoute gateway ---
    # docs/azure.md#expressroute-gateway: the gateway (in the VNet) has ASN 65515.
    "ergw.asn":              Param(65515, "ExpressRoute virtual network gateway AS number"),
    # docs/azure.md#expressroute-gateway: a gateway has two or more instances, active-active;
    # maintenance takes them offline one at a time.
    "ergw.instances":        Param(2, "ExpressRoute gateway instances (ergw0, ergw1), each peering with every MSEE; 1: a single router"),
    "vnet.prefix":           Param("10.10.0.0/16", "VNet address space (what Azure advertises)"),
    "vnet.subnet":           Param("10.10.1.0/24", "VNet subnet of vm1"),
    "vnet.gateway_subnet":   Param("10.10.255.0/24", "GatewaySubnet: links between gateways and the VNet router"),
    # docs/azure.md#expressroute-gateway: gateway-to-MSEE convergence takes up to a minute; the MSEE
    # timers apply (docs/azure.md#inferred-or-unconfirmed).
    "ergw.keepalive_s":      Param(60, "ER gateway BGP keepalive toward the MSEEs (s)"),
    "ergw.hold_s":           Param(180, "ER gateway BGP hold time toward the MSEEs (s)"),
    # --- on-prem preference between the two paths (docs/azure.md#route-preference: "On-prem must mirror it: a higher
    # local preference on routes learned over ExpressRoute (for example 150 against 100)") ---
    "onprem.er_local_pref":  Param(150, "local preference on-prem gives routes learned over ExpressRoute"),
    "onprem.vpn_local_pref": Param(100, "local preference on-prem gives routes learned over the VPN"),
    # --- Azure's choice for an identical prefix: ExpressRoute over VPN (docs/azure.md#route-preference);
    # docs/azure.md#inferred-or-unconfirmed: in Microsoft's
    # lab output ER routes carry weight 32769 against 32768 for VPN (an inference, not documented).
    "vnet.er_weight":        Param(32769, "weight the VNet gives routes from the ExpressRoute gateway"),
    "vnet.vpn_weight":       Param(32768, "weight the VNet gives routes from the VPN gateway"),
    # --- site-to-site VPN (docs/azure.md#site-to-site-vpn-gateway, docs/azure.md#ipsec-and-ike) ---
    "vpngw.asn":             Param(65515, "VPN gateway AS number"),
    # "BGP timers: keepalive 60 s, hold 180 s, fixed"; "BFD: not supported on S2S VPN".
    "vpngw.keepalive_s":     Param(60, "VPN gateway BGP keepalive (s)"),
    "vpngw.hold_s":          Param(180, "VPN gateway BGP hold time (s)"),
    # docs/azure.md#prefix-limits: "up to 4000 prefixes"; above that the session is dropped.
    "vpngw.prefix_limit":    Param(4000, "prefixes the VPN gateway accepts before dropping the session"),
    # docs/azure.md#inferred-or-unconfirmed: Microsoft documents the drop, not when the gateway
    # takes the device's session again; we do so after this long, as the MSEE does.
    "vpngw.prefix_limit_retry_s": Param(5, "seconds before the VPN gateway retries a session it dropped for the prefix limit (unconfirmed)"),
    "vpngw.instances":       Param(2, "active gateway instances, each with its own tunnel (2 = active-active, 1 = active-standby)"),
    # docs/azure.md#active-standby: with one active instance Azure keeps a second as standby; it
    # takes over the public and BGP addresses in 10-15 s for planned maintenance, 1-3 min worst
    # case for an unplanned failure.
    "vpngw.standby":         Param(True, "with vpngw.instances=1, a standby instance that takes over (false: none, not an Azure configuration)"),
    "vpngw.takeover_planned_s": Param(10.0, "seconds until the standby serves after planned maintenance starts (Azure: 10-15 s restored)"),
    "vpngw.takeover_unplanned_s": Param(60.0, "seconds until the standby serves after the active instance fails (Azure: 1-3 min worst case)"),
    # "custom APIPA addresses in 169.254.21.0-169.254.22.255; with APIPA the on-prem side must
    # initiate BGP"; or an address in the GatewaySubnet.
    "vpn.bgp_peering":       Param("apipa", "BGP peer addresses: 'apipa' (169.254.21.x/22.x) or 'gatewaysubnet'"),
    # docs/azure.md#ipsec-and-ike: with no custom policy the gateway accepts AES256/AES128/3DES with
    # SHA1/SHA256 and DH group 2 for IKE, and GCM-AES256, AES256/AES128/3DES with SHA1/SHA256 for ESP.
    "vpngw.ike_proposals":   Param("aes256-sha256-modp1024,aes256-sha1-modp1024,aes128-sha256-modp1024,"
                                   "aes128-sha1-modp1024,3des-sha256-modp1024,3des-sha1-modp1024",
                                   "IKE proposals the VPN gateway accepts with no custom policy (Azure's defaults)"),
    "vpngw.esp_proposals":   Param("aes256gcm16,aes256-sha256,aes256-sha1,aes128-sha256,aes128-sha1,3des-sha256,3des-sha1",
                                   "ESP proposals the VPN gateway accepts with no custom policy (Azure's defaults, no PFS)"),
    "vpn.ike_proposal":      Param("", "the connection's custom IKE policy, the only one the gateway then accepts (empty: none)"),
    "vpn.ike_lifetime_s":    Param(28800, "IKE SA lifetime (s)"),
    "vpn.esp_proposal":      Param("", "the connection's custom IPsec policy, the only one the gateway then accepts (empty: none)"),
    "vpn.child_lifetime_s":  Param(27000, "Child SA lifetime (s)"),
    "vpn.dpd_timeout_s":     Param(45, "dead peer detection timeout (s; Azure default 45, range 9-3600)"),
    "vpn.mtu":               Param(1400, "tunnel MTU"),
    "vpn.mss":               Param(1350, "TCP MSS clamp on the tunnel"),
    "vpn.psk_file":          Param("", "pre-shared key file for both ends (empty: a fresh key per run)"),
    # Not Azure's (its gateways' ESP is their own): where the emulation runs ESP. docs/azure.md#ipsec-data-plane
    "vpn.dataplane":         Param("auto", "where ESP runs: 'kernel' (XFRM interfaces), 'libipsec' (userspace, over TUN) or 'auto' (kernel where it has XFRM interfaces and ESP)"),
    "onprem.vpn_psk_file":   Param("", "on-prem device's own key file, if it differs (to rehearse a mismatch)"),
    "onprem.vpn_ike_proposal": Param("", "on-prem device's IKE proposal (empty: the custom policy, else AES256/SHA256/DH2)"),
    "onprem.vpn_esp_proposal": Param("", "on-prem device's ESP proposal (empty: the custom policy, else AES256/SHA256)"),
    "inet.prefix":           Param("198.51.100.0/24", "the 'internet' between on-prem and Azure's public IPs"),
    # --- bring-up ---
    "converge.timeout_s":    Param(60, "how long to wait for convergence before giving up (s)"),
}
# fmt: on


def _coerce(key: str, raw: Any, default: Any) -> Any:
    """Turn a raw value (a string from --set, or a file value) into the default's type."""
    kind = type(default)
    if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
        elif kind is int:
            try:
                return int(text)
            except ValueError:
                pass
        elif kind is float:
            try:
                return float(text)
            except ValueError:
                pass
        elif kind is str:
            return text
    elif kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    raise TestbedError(
        f"parameter {key} wants a {kind.__name__} (like {default!r}), not {raw!r}: fix the value."
    )


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            flat.update(_flatten(v, key + "."))
        else:
            flat[key] = v
    return flat


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a params file (TOML, or JSON when it ends in .json) into dotted keys."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise TestbedError(f"cannot read params file {p}: {e.strerror}; check the path.") from e
    try:
        tree = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise TestbedError(f"params file {p} does not parse ({e}); fix its syntax.") from e
    return _flatten(tree)


def parse_sets(items: Iterable[str]) -> dict[str, str]:
    """``["bfd.interval_ms=100"]`` -> ``{"bfd.interval_ms": "100"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TestbedError(f"--set wants KEY=VALUE, got {item!r}: write it like bfd.interval_ms=100.")
        out[key.strip()] = value
    return out


class Params(Mapping[str, Any]):
    """An immutable set of parameters (a Mapping of dotted keys), each of its default's type.

    What Azure would reject is each topology's to check (its ``validate(params)``), since only
    it knows which parameters it uses."""

    def __init__(self, overrides: Mapping[str, Any] | None = None,
                 extra: Mapping[str, Param] | None = None) -> None:
        """``extra`` adds keys a topology or scenario defines beyond the shared ones."""
        known = dict(DEFAULTS)
        known.update(extra or {})
        values = {k: p.default for k, p in known.items()}
        for key, raw in (overrides or {}).items():
            if key not in known:
                near = [k for k in known if k.split(".")[-1] == key.split(".")[-1]]
                hint = f" (did you mean {near[0]}?)" if near else ""
                raise TestbedError(
                    f"unknown parameter {key!r}{hint}: run 'testbed params' to list the valid keys."
                )
            values[key] = _coerce(key, raw, known[key].default)
        self._values = values
        self._known = known

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def help(self, key: str) -> str:
        return self._known[key].help

    def net(self, key: str) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self[key], strict=True)

    def prefix_limit(self) -> int:
        return self["msee.prefix_limit_premium"] if self["er.premium"] else self["msee.prefix_limit"]

    def to_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def additions(self) -> dict[str, Any]:
        """The values of the parameters that are testbed additions, not Azure behaviours."""
        return {k: v for k, v in self._values.items() if self._known[k].addition}


def network(params: Params, key: str) -> ipaddress.IPv4Network:
    """The parameter ``key`` as an IPv4 prefix, or one sentence saying it is not one."""
    try:
        return ipaddress.IPv4Network(params[key], strict=True)
    except ValueError as e:
        raise TestbedError(f"parameter {key}={params[key]!r} is not an IPv4 prefix ({e}): fix it.") from e


def disjoint(params: Params, keys: list[str]) -> None:
    """The address ranges ``keys`` must not overlap (each topology names the ranges it uses)."""
    nets = {k: network(params, k) for k in keys}
    ordered = sorted(nets)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if nets[a].overlaps(nets[b]):
                raise TestbedError(
                    f"{a} {nets[a]} overlaps {b} {nets[b]}: give them separate address ranges."
                )
