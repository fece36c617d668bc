"""Build a network file from what the Azure CLI prints (``az network ... show`` / ``list``).

The files of a folder are recognised by their resource ``type``, whatever their names: circuits
(with their peerings, or peerings listed apart), virtual network gateways (ExpressRoute and
VPN), connections, local network gateways and VNets. Keys are read case-insensitively, since
the CLI prints ``peerAsn`` where the REST reference writes ``peerASN``. What an export cannot
know (the on-prem routers behind the circuits and the local gateway) comes from an optional
on-prem file, or is assumed and said so in the output's header. Shared keys go to key files of
mode 0600 next to the output, never into it. The field-by-field mapping is in
docs/azure.md#importing-from-azure.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from testbed.errors import TestbedError

CIRCUIT = "microsoft.network/expressroutecircuits"
PEERING = "microsoft.network/expressroutecircuits/peerings"
GATEWAY = "microsoft.network/virtualnetworkgateways"
CONNECTION = "microsoft.network/connections"
LOCAL_GATEWAY = "microsoft.network/localnetworkgateways"
VNET = "microsoft.network/virtualnetworks"
KINDS = (CIRCUIT, PEERING, GATEWAY, CONNECTION, LOCAL_GATEWAY, VNET)
# Azure's IPsec policy names -> strongSwan's proposal keywords
ENCRYPTION = {"aes256": "aes256", "aes192": "aes192", "aes128": "aes128", "des3": "3des",
              "gcmaes256": "aes256gcm16", "gcmaes192": "aes192gcm16", "gcmaes128": "aes128gcm16"}
INTEGRITY = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "md5": "md5",
             "gcmaes256": "", "gcmaes192": "", "gcmaes128": ""}
DH = {"dhgroup1": "modp768", "dhgroup2": "modp1024", "dhgroup14": "modp2048", "dhgroup2048": "modp2048",
      "dhgroup24": "modp2048s256", "ecp256": "ecp256", "ecp384": "ecp384", "none": ""}
PFS = {"pfs1": "modp768", "pfs2": "modp1024", "pfs14": "modp2048", "pfs2048": "modp2048", "pfs24": "modp2048s256",
       "ecp256": "ecp256", "ecp384": "ecp384", "pfsmm": "", "none": ""}


def lower_keys(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k).lower(): lower_keys(x) for k, x in v.items()}
    if isinstance(v, list):
        return [lower_keys(x) for x in v]
    return v


def last(rid: str | None) -> str:
    """The name at the end of a resource id."""
    return (rid or "").rstrip("/").split("/")[-1]


@dataclass
class Resource:
    kind: str
    data: dict[str, Any]
    file: Path

    @property
    def name(self) -> str:
        return str(self.data.get("name") or last(self.data.get("id")))

    def get(self, *path: str, default: Any = None) -> Any:
        v: Any = self.data
        for key in path:
            if not isinstance(v, dict) or key not in v:
                return default
            v = v[key]
        return v

    def refuse(self, fld: str, message: str) -> TestbedError:
        return TestbedError(f"{self.file.name}: {self.kind.split('/')[-1]} {self.name}, field {fld}: {message}")


def read_dir(folder: Path) -> list[Resource]:
    """Every resource in the folder's JSON files, or one sentence naming a file that is none."""
    if not folder.is_dir():
        raise TestbedError(f"{folder} is not a folder: give the folder that holds the az CLI's JSON output.")
    out: list[Resource] = []
    for f in sorted(folder.glob("*.json")):
        try:
            doc = lower_keys(json.loads(f.read_text()))
        except (OSError, ValueError) as e:
            raise TestbedError(f"{f.name} is not JSON ({e}): save the az CLI's output with --output json.") from None
        items = doc if isinstance(doc, list) else [doc]
        for item in items:
            kind = str(item.get("type", "")).lower() if isinstance(item, dict) else ""
            if kind not in KINDS:
                raise TestbedError(f"{f.name}: a resource of type {kind or 'none'!r} is not one import reads: keep only "
                                   "the output of the commands the README lists (circuits, peerings, gateways, "
                                   "connections, local gateways, VNets).")
            out.append(Resource(kind, item, f))
    if not out:
        raise TestbedError(f"{folder} holds no .json file: save the az CLI's output there (see the README).")
    return out


def node_name(azure: str, taken: set[str], default: str, width: int = 10) -> str:
    """A node name (lower-case letters and digits) for an Azure resource name."""
    stem = re.sub(r"[^a-z0-9]", "", azure.lower()) or default
    if not stem[0].isalpha():
        stem = default[0] + stem
    name, n = stem[:width], 1
    while name in taken:
        n += 1
        name = f"{stem[:width - len(str(n))]}{n}"
    taken.add(name)
    return name


def label(azure: str) -> str:
    out = re.sub(r"[^a-z0-9]+", "-", azure.lower()).strip("-")
    out = out if out and out[0].isalpha() else f"x-{out}"
    return out[:22].rstrip("-")   # leaves room for "-secondary" within 31 characters


def proposals(conn: Resource) -> tuple[str | None, str | None]:
    """The connection's custom IPsec/IKE policy as strongSwan proposals (None: Azure's defaults)."""
    policies = conn.get("ipsecpolicies") or []
    if not policies:
        return None, None
    if len(policies) > 1:
        raise conn.refuse("ipsecPolicies", f"holds {len(policies)} policies; Azure applies one: keep one.")
    pol = {k: str(v).lower() for k, v in policies[0].items()}
    try:
        ike = [ENCRYPTION[pol["ikeencryption"]], INTEGRITY[pol["ikeintegrity"]], DH[pol["dhgroup"]]]
        esp = [ENCRYPTION[pol["ipsecencryption"]], INTEGRITY[pol["ipsecintegrity"]], PFS[pol["pfsgroup"]]]
    except KeyError as e:
        raise conn.refuse("ipsecPolicies", f"{e.args[0]} is missing or names an algorithm the testbed does not know: "
                                           "check the policy against Azure's list.") from None
    return "-".join(x for x in ike if x), "-".join(x for x in esp if x)


@dataclass
class Import:
    """An export folder's resources, turned into a network file's data and its notes."""

    resources: list[Resource]
    onprem: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)        # key file name -> secret
    taken: set[str] = field(default_factory=set)

    def of(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]

    def named(self, kind: str, rid: str | None, user: Resource, fld: str) -> Resource:
        want = last(rid).lower()
        for r in self.of(kind):
            if r.name.lower() == want:
                return r
        raise user.refuse(fld, f"names {last(rid)!r}, which no file of the folder describes: add the output of "
                               f"'az network {'express-route' if kind == CIRCUIT else kind.split('/')[-1]} show' for it.")

    # --- the parts ------------------------------------------------------------------------
    def vnets(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The VNets (a test VM in the first workload subnet of each), and Azure name -> node name."""
        out, names = [], {}
        for v in self.of(VNET):
            names[v.name.lower()] = node_name(v.name, self.taken, "vnet")
        vm_index = 1
        for v in self.of(VNET):
            if v.get("ipv6configuration") or any(":" in p for p in v.get("addressspace", "addressprefixes", default=[])):
                raise v.refuse("addressSpace", "holds IPv6, which the testbed does not emulate yet: export an IPv4 VNet.")
            entry: dict[str, Any] = {"name": names[v.name.lower()],
                                     "address_space": list(v.get("addressspace", "addressprefixes", default=[]))}
            subnets = []
            for sn in v.get("subnets", default=[]):
                prefixes = sn.get("addressprefixes") or [sn.get("addressprefix")]
                prefix = next((p for p in prefixes if p and ":" not in p), None)
                if prefix is None:
                    continue
                if sn.get("name") == "GatewaySubnet":
                    entry["gateway_subnet"] = prefix
                    continue
                sub = {"name": label(sn.get("name", "subnet")), "prefix": prefix, "vms": []}
                if not subnets:
                    sub["vms"] = [node_name(f"vm{vm_index}", self.taken, "vm")]
                    vm_index += 1
                subnets.append(sub)
            if not subnets:
                raise v.refuse("subnets", "has no subnet besides GatewaySubnet, so there is nowhere for a test VM: "
                                          "export a VNet with a workload subnet.")
            entry["subnets"] = subnets
            for peering in v.get("virtualnetworkpeerings", default=[]):
                if peering.get("useremotegateways"):
                    entry["hub"] = names.get(last(peering.get("remotevirtualnetwork", {}).get("id")).lower())
                    if entry["hub"] is None:
                        raise v.refuse("virtualNetworkPeerings.remoteVirtualNetwork",
                                       f"names {last(peering['remotevirtualnetwork'].get('id'))!r}, which no file "
                                       "describes: add 'az network vnet show' for it.")
            out.append(entry)
        return sorted(out, key=lambda e: "hub" in e), names   # hubs first: the first VNet is the probes' side

    def gateway_vnet(self, gw: Resource, vnets: dict[str, str]) -> str:
        for ipc in gw.get("ipconfigurations", default=[]):
            rid = (ipc.get("subnet") or {}).get("id", "")
            m = re.search(r"/virtualnetworks/([^/]+)/subnets/", rid.lower())
            if m and m.group(1) in vnets:
                return vnets[m.group(1)]
        raise gw.refuse("ipConfigurations.subnet", "names no VNet of the folder: add 'az network vnet show' for its VNet.")

    def circuits(self, asn_seen: set[int]) -> list[tuple[Resource, dict[str, Any]]]:
        out = []
        loose = {(last(p.data.get("id", "").split("/peerings/")[0]).lower(), p.name): p for p in self.of(PEERING)}
        for c in self.of(CIRCUIT):
            peerings = [Resource(PEERING, p, c.file) for p in c.get("peerings", default=[])]
            peerings += [p for (circuit, _), p in loose.items() if circuit == c.name.lower()]
            private = next((p for p in peerings if str(p.get("peeringtype", default="")).lower() == "azureprivatepeering"), None)
            if private is None:
                raise c.refuse("peerings", "has no AzurePrivatePeering: add 'az network express-route peering list' "
                                           "for it (Microsoft peering is not emulated).")
            if private.get("ipv6peeringconfig"):
                raise private.refuse("ipv6PeeringConfig", "IPv6 private peering is not emulated yet: remove the field "
                                                          "to rehearse the IPv4 peering.")
            if private.get("azureasn") not in (None, 12076):
                raise private.refuse("azureAsn", f"is {private.get('azureasn')}; Azure's side is always 12076: check the export.")
            asn_seen.add(int(private.get("peerasn")))
            tier = str(c.get("sku", "tier", default="Standard")).lower()
            entry: dict[str, Any] = {
                "name": label(c.name),
                "peering_location": c.get("serviceproviderproperties", "peeringlocation", default="") or "",
                "sku": "premium" if tier == "premium" else "standard",
                "primary_subnet": private.get("primarypeeraddressprefix"),
                "secondary_subnet": private.get("secondarypeeraddressprefix"),
            }
            if private.get("vlanid") is not None:
                self.notes.append(f"circuit {c.name}: VLAN {private.get('vlanid')} ignored (private peering is untagged here)")
            if private.get("sharedkey"):
                key_file = f"keys/{entry['name']}.md5"
                self.keys[key_file] = str(private.get("sharedkey"))
                entry["md5_key_file"] = key_file
            out.append((c, entry))
        return out

    # --- the whole ------------------------------------------------------------------------
    def expressroute(self, circuits: list[tuple[Resource, dict[str, Any]]], vnet_names: dict[str, str],
                     edges: dict[str, list[str]]) -> dict[str, Any] | None:
        """The ExpressRoute section: each circuit with its edges, each gateway with its connections."""
        if not circuits:
            return None
        conns = self.of(CONNECTION)
        er_gws = [g for g in self.of(GATEWAY) if str(g.get("gatewaytype", default="")).lower() == "expressroute"]
        er_conns = [c for c in conns if str(c.get("connectiontype", default="")).lower() == "expressroute"]
        gw_entries = []
        for g in er_gws:
            gname = node_name(g.name, self.taken, "ergw", width=9)
            entry = {"name": gname, "vnet": self.gateway_vnet(g, vnet_names), "connections": []}
            for c in er_conns:
                if last(c.get("virtualnetworkgateway1", "id")).lower() == g.name.lower():
                    circuit = self.named(CIRCUIT, c.get("peer", "id"), c, "peer")
                    entry["connections"].append({"circuit": label(circuit.name),
                                                 "routing_weight": int(c.get("routingweight") or 0)})
            if entry["connections"]:
                gw_entries.append(entry)
        for c in er_conns:
            self.named(GATEWAY, c.get("virtualnetworkgateway1", "id"), c, "virtualNetworkGateway1")
        if not gw_entries:
            raise circuits[0][0].refuse("connections", "no ExpressRoute connection joins it to a gateway of the folder: "
                                                       "add 'az network vpn-connection list' and the gateway's 'show'.")
        weights = {x["circuit"]: x["routing_weight"] for g in gw_entries for x in g["connections"]}
        if len(set(weights.values())) > 1:  # Azure's advice: mirror the preference on-prem
            best = max(weights.values())
            for _, entry in circuits:
                entry["local_pref"] = 200 if weights.get(entry["name"]) == best else 150
            self.notes.append("assumed: on-prem mirrors the connections' routing weights with local preference "
                              "(200 for the highest weight, 150 for the others)")
        for k, (c, entry) in enumerate(circuits):
            ends = edges.get(c.name) or [f"ce{2 * k + 1}", f"ce{2 * k + 2}"]
            if c.name not in edges:
                self.notes.append(f"assumed: circuit {c.name} ends on-prem on {ends[0]} (primary) and {ends[1]} "
                                  "(secondary), one CE per link")
            entry["primary"], entry["secondary"] = {"router": ends[0]}, {"router": ends[1]}
        return {"circuits": [e for _, e in circuits], "gateways": gw_entries}

    def vpn(self, vnet_names: dict[str, str], edges: dict[str, list[str]],
            asns: set[int]) -> tuple[dict[str, Any] | None, str | None]:
        """The VPN section and the on-prem router that is the local gateway."""
        conns = self.of(CONNECTION)
        vpn_conns = [c for c in conns if str(c.get("connectiontype", default="")).lower() == "ipsec"]
        if len(vpn_conns) > 1:
            raise vpn_conns[1].refuse("connectionType", "is a second IPsec connection; the testbed emulates one VPN "
                                                        "connection yet: export the one to rehearse.")
        if not vpn_conns:
            return None, None
        conn = vpn_conns[0]
        if not conn.get("enablebgp"):
            raise conn.refuse("enableBgp", "is false (static routing): the testbed emulates route-based VPNs with "
                                           "BGP; enable BGP on the connection to rehearse it.")
        if conn.get("usepolicybasedtrafficselectors"):
            raise conn.refuse("usePolicyBasedTrafficSelectors", "is true (policy-based traffic selectors), which "
                                                                "the testbed does not emulate: export a route-based one.")
        if str(conn.get("connectionprotocol") or "IKEv2").lower() != "ikev2":
            raise conn.refuse("connectionProtocol", f"is {conn.get('connectionprotocol')}; the testbed emulates IKEv2 "
                                                    "(Azure's default): export an IKEv2 connection.")
        if str(conn.get("connectionmode") or "Default").lower() != "default":
            raise conn.refuse("connectionMode", f"is {conn.get('connectionmode')}; only Default (either side "
                                                "initiates) is emulated yet.")
        gw = self.named(GATEWAY, conn.get("virtualnetworkgateway1", "id"), conn, "virtualNetworkGateway1")
        lng = self.named(LOCAL_GATEWAY, conn.get("localnetworkgateway2", "id"), conn, "localNetworkGateway2")
        instances = 2 if gw.get("activeactive") else 1
        custom = [a for p in gw.get("bgpsettings", "bgppeeringaddresses", default=[]) for a in p.get("custombgpipaddresses") or []]
        default = [a for p in gw.get("bgpsettings", "bgppeeringaddresses", default=[]) for a in p.get("defaultbgpipaddresses") or []]
        addresses = (custom or default)[:instances]
        gname = node_name(gw.name, self.taken, "vpngw", width=9)
        vpn_device = (edges.get(lng.name) or ["vpn1"])[0]
        if lng.name not in edges:
            self.notes.append(f"assumed: local gateway {lng.name} ({lng.get('gatewayipaddress')}) is on-prem router {vpn_device}")
        lng_bgp = lng.get("bgpsettings", "bgppeeringaddress")
        space = [p for p in lng.get("localnetworkaddressspace", "addressprefixes", default=[])
                 if not (lng_bgp and p == f"{lng_bgp}/32")]
        gw_entry: dict[str, Any] = {"name": gname, "vnet": self.gateway_vnet(gw, vnet_names), "instances": instances,
                                    "asn": int(gw.get("bgpsettings", "asn", default=65515)),
                                    "bgp_peering": "apipa" if custom else "gatewaysubnet"}
        if len(addresses) == instances:
            gw_entry["bgp_addresses"] = addresses
        conn_entry: dict[str, Any] = {"name": label(conn.name), "gateway": gname, "local_gateway": label(lng.name)}
        if conn.get("dpdtimeoutseconds"):
            conn_entry["dpd_timeout_s"] = int(conn.get("dpdtimeoutseconds"))
        ike, esp = proposals(conn)
        if ike:
            conn_entry["ike_proposal"], conn_entry["esp_proposal"] = ike, esp
        if conn.get("sharedkey"):
            key_file = f"keys/{label(conn.name)}.psk"
            self.keys[key_file] = str(conn.get("sharedkey"))
            conn_entry["shared_key_file"] = key_file
        else:
            self.notes.append(f"connection {conn.name}: no shared key in the export ('az network vpn-connection "
                              "shared-key show' prints it): a fresh key per run")
        lng_entry: dict[str, Any] = {"name": label(lng.name), "router": vpn_device, "address_space": space}
        if lng_bgp:
            lng_entry["bgp_address"] = lng_bgp
        if lng.get("bgpsettings", "asn"):
            lng_entry["asn"] = int(lng.get("bgpsettings", "asn"))
            asns.add(int(lng.get("bgpsettings", "asn")))
        return {"gateways": [gw_entry], "local_gateways": [lng_entry], "connections": [conn_entry]}, vpn_device

    def network(self, name: str) -> dict[str, Any]:
        vnets, vnet_names = self.vnets()
        asns: set[int] = set()
        edges = dict((self.onprem or {}).get("edges") or {})
        er = self.expressroute(self.circuits(asns), vnet_names, edges)
        vpn, vpn_device = self.vpn(vnet_names, edges, asns)
        if len(asns) > 1:
            self.notes.append(f"on-prem ASNs differ between circuits and the local gateway ({sorted(asns)}): "
                              f"the site takes {min(asns)}; give each edge its own asn in the on-prem file")
        net: dict[str, Any] = {"name": label(name), "summary": f"imported from Azure ({len(self.resources)} resources)",
                               "onprem": self.onprem_section(er, vpn, vpn_device, min(asns) if asns else None)}
        net |= {"expressroute": er} if er else {}
        net |= {"vpn": vpn} if vpn else {}
        return net | {"vnets": vnets}



    def onprem_section(self, er: dict[str, Any] | None, vpn: dict[str, Any] | None, vpn_device: str | None,
                       asn: int | None) -> dict[str, Any]:
        if self.onprem and "onprem" in self.onprem:
            return self.onprem["onprem"]
        edges = [e["router"] for c in (er or {}).get("circuits", []) for e in (c["primary"], c["secondary"])]
        edges += [vpn_device] if vpn_device else []
        self.notes.append(f"assumed: one site 'onprem' with router core, host h1 and a link from core to each "
                          f"edge ({', '.join(edges)}); its address space is the parameter onprem.prefix")
        bgp = (vpn or {}).get("local_gateways", [{}])[0].get("bgp_address")
        loopback = [f"{bgp}/32"] if bgp and not bgp.startswith("169.254.") else []
        routers = [{"name": "core"}] + [{"name": e, **({"maximum_paths": 1} if e != vpn_device else {}),
                                         **({"loopbacks": loopback} if e == vpn_device and loopback else {})}
                                        for e in dict.fromkeys(edges)]
        return {**({"asn": asn} if asn else {}),
                "sites": [{"name": "onprem", "routers": routers, "hosts": [{"name": "h1", "router": "core"}]}],
                "links": [{"endpoints": [{"node": "core"}, {"node": e}]} for e in dict.fromkeys(edges)]}


def run(folder: Path, out: Path, onprem_file: Path | None = None) -> list[str]:
    """Import ``folder`` into the network file ``out`` (and its key files); the notes it made.
    The file is built and checked as ``testbed validate`` would in a scratch folder first, so
    nothing is written unless the whole import succeeds."""
    from testbed.model import catalog
    onprem = None
    if onprem_file is not None:
        try:
            onprem = yaml.safe_load(onprem_file.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise TestbedError(f"cannot read the on-prem file {onprem_file} ({e}): fix it.") from None
    imp = Import(read_dir(folder), onprem=onprem, taken={"inet"})
    data = imp.network(out.stem)
    header = "".join(f"# {line}\n" for line in
                     [f"Imported by 'testbed import azure {folder}'.", *imp.notes,
                      "Shared keys are in the key files this file names (mode 0600), not here."])
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".import-", dir=out.parent))
    try:
        (scratch / out.name).write_text(header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120))
        for name, secret in imp.keys.items():
            path = scratch / name
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secret + "\n")
        try:
            catalog.build(str(scratch / out.name))
        except TestbedError as e:
            raise TestbedError(str(e).replace(str(scratch), str(out.parent.resolve()))) from None
        for path in sorted(p for p in scratch.rglob("*") if p.is_file()):
            target = out.parent / path.relative_to(scratch)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return imp.notes
