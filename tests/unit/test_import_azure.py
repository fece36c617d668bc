"""testbed import azure: every mapped field of the az CLI's JSON and every refusal (no root)."""
from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from testbed.azure import importer
from testbed.errors import TestbedError
from testbed.model import catalog

EXPORT = Path(__file__).resolve().parents[2] / "examples" / "azure-export" / "hybrid"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    d = tmp_path / "export"
    shutil.copytree(EXPORT, d)
    return d


def edit(folder: Path, name: str, change) -> None:
    path = folder / name
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def imported(export: Path, tmp_path: Path, onprem: Path | None = None) -> tuple[dict, list[str], Path]:
    out = tmp_path / "out" / "net.yaml"
    notes = importer.run(export, out, onprem)
    return yaml.safe_load(out.read_text()), notes, out


def test_the_hybrid_export_maps_every_field(export, tmp_path):
    net, notes, out = imported(export, tmp_path)
    c = net["expressroute"]["circuits"][0]
    assert c == {"name": "er-ams", "peering_location": "Amsterdam", "sku": "standard",
                 "primary_subnet": "192.168.100.128/30", "secondary_subnet": "192.168.100.132/30",
                 "primary": {"router": "ce1"}, "secondary": {"router": "ce2"}}
    assert net["expressroute"]["gateways"] == [{"name": "ergw", "vnet": "vnet",
                                                 "connections": [{"circuit": "er-ams", "routing_weight": 0}]}]
    gw, lng, conn = (net["vpn"][k][0] for k in ("gateways", "local_gateways", "connections"))
    assert gw == {"name": "vpngw", "vnet": "vnet", "instances": 2, "asn": 65515, "bgp_peering": "apipa",
                  "bgp_addresses": ["169.254.21.1", "169.254.22.1"]}
    assert lng == {"name": "onprem-vpn", "router": "vpn1", "address_space": [], "bgp_address": "169.254.21.2", "asn": 65020}
    assert conn["dpd_timeout_s"] == 45 and conn["shared_key_file"] == "keys/vpngw-to-onprem.psk"
    assert net["onprem"]["asn"] == 65020
    assert net["vnets"] == [{"name": "vnet", "address_space": ["10.10.0.0/16"], "gateway_subnet": "10.10.255.0/24",
                             "subnets": [{"name": "workload", "prefix": "10.10.1.0/24", "vms": ["vm1"]}]}]
    key = out.parent / "keys" / "vpngw-to-onprem.psk"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and "anonymised" in key.read_text()
    assert "anonymised" not in out.read_text()                      # secrets never in the network file
    assert any("VLAN 100 ignored" in n for n in notes) and any(n.startswith("assumed: circuit er-ams") for n in notes)
    assert out.read_text().startswith("# Imported by")
    topo = catalog.build(str(out))
    assert list(topo.circuits) == ["er-ams"] and [t.label for t in topo.tunnels] == [
        "vpngw-to-onprem-tunnel0", "vpngw-to-onprem-tunnel1"]


def test_premium_weights_md5_policies_and_gatewaysubnet_peers(export, tmp_path):
    def circuit(doc):
        doc["sku"]["tier"] = "Premium"
        doc["peerings"][0]["sharedKey"] = "md5secret"

    def conns(doc):
        doc[0]["routingWeight"] = 10
        doc[1]["ipsecPolicies"] = [{"ikeEncryption": "AES128", "ikeIntegrity": "SHA1", "dhGroup": "DHGroup14",
                                    "ipsecEncryption": "GCMAES256", "ipsecIntegrity": "GCMAES256", "pfsGroup": "None",
                                    "saLifeTimeSeconds": 27000, "saDataSizeKilobytes": 102400000}]

    def vpngw(doc):
        for p in doc["bgpSettings"]["bgpPeeringAddresses"]:
            p["customBgpIpAddresses"] = []
    edit(export, "circuit.json", circuit)
    edit(export, "connections.json", conns)
    edit(export, "vpngw.json", vpngw)
    net, _, out = imported(export, tmp_path)
    c = net["expressroute"]["circuits"][0]
    assert c["sku"] == "premium" and c["md5_key_file"] == "keys/er-ams.md5"
    assert (out.parent / "keys" / "er-ams.md5").read_text() == "md5secret\n"
    assert net["expressroute"]["gateways"][0]["connections"][0]["routing_weight"] == 10
    conn = net["vpn"]["connections"][0]
    assert conn["ike_proposal"] == "aes128-sha1-modp2048" and conn["esp_proposal"] == "aes256gcm16"
    gw = net["vpn"]["gateways"][0]
    assert gw["bgp_peering"] == "gatewaysubnet" and gw["bgp_addresses"] == ["10.10.255.4", "10.10.255.5"]


def test_active_standby_spokes_and_an_onprem_file(export, tmp_path):
    edit(export, "vpngw.json", lambda d: d.update(activeActive=False))
    S = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks"
    spoke = {"type": "Microsoft.Network/virtualNetworks", "name": "Spoke-One", "addressSpace": {"addressPrefixes": ["10.11.0.0/16"]},
             "subnets": [{"name": "app", "addressPrefix": "10.11.1.0/24"}],
             "virtualNetworkPeerings": [{"name": "to-hub", "remoteVirtualNetwork": {"id": f"{S}/vnet"},
                                         "useRemoteGateways": True, "allowGatewayTransit": False}]}
    (export / "spoke.json").write_text(json.dumps(spoke))
    onprem = tmp_path / "onprem.yaml"
    onprem.write_text(yaml.safe_dump({"edges": {"er-ams": ["edge1", "edge2"], "onprem-vpn": ["edge3"]}}))
    net, notes, _ = imported(export, tmp_path, onprem)
    assert net["vpn"]["gateways"][0]["instances"] == 1
    assert net["vpn"]["gateways"][0]["bgp_addresses"] == ["169.254.21.1"]
    assert not any("standby" in n for n in notes)   # emulated as Azure runs it: one active, one standby
    assert net["vnets"][1]["name"] == "spokeone" and net["vnets"][1]["hub"] == "vnet"
    c = net["expressroute"]["circuits"][0]
    assert c["primary"] == {"router": "edge1"} and net["vpn"]["local_gateways"][0]["router"] == "edge3"
    assert not any(n.startswith("assumed: circuit") for n in notes)


REFUSALS = [
    ("not JSON", lambda d: (d / "notes.json").write_text("{not json"), "notes.json is not JSON"),
    ("another resource", lambda d: (d / "pip.json").write_text(json.dumps({"type": "Microsoft.Network/publicIPAddresses"})),
     "pip.json: a resource of type 'microsoft.network/publicipaddresses' is not one import reads"),
    ("a gateway not in the folder", lambda d: (d / "vpngw.json").unlink(),
     "connections.json: connections vpngw-to-onprem, field virtualNetworkGateway1: names 'vpngw', which no file"),
    ("static routing", lambda d: edit(d, "connections.json", lambda c: c[1].update(enableBgp=False)),
     "field enableBgp: is false (static routing)"),
    ("policy-based", lambda d: edit(d, "connections.json", lambda c: c[1].update(usePolicyBasedTrafficSelectors=True)),
     "field usePolicyBasedTrafficSelectors: is true"),
    ("responder only", lambda d: edit(d, "connections.json", lambda c: c[1].update(connectionMode="ResponderOnly")),
     "field connectionMode: is ResponderOnly"),
    ("IKEv1", lambda d: edit(d, "connections.json", lambda c: c[1].update(connectionProtocol="IKEv1")),
     "field connectionProtocol: is IKEv1"),
    ("IPv6 peering", lambda d: edit(d, "circuit.json", lambda c: c["peerings"][0].update(
        ipv6PeeringConfig={"primaryPeerAddressPrefix": "2001:db8::/126"})), "field ipv6PeeringConfig: IPv6 private peering"),
    ("IPv6 VNet", lambda d: edit(d, "vnet.json", lambda v: v["addressSpace"]["addressPrefixes"].append("2001:db8::/48")),
     "virtualnetworks vnet, field addressSpace: holds IPv6"),
    ("a wrong Azure ASN", lambda d: edit(d, "circuit.json", lambda c: c["peerings"][0].update(azureAsn=65000)),
     "field azureAsn: is 65000"),
    ("no private peering", lambda d: edit(d, "circuit.json", lambda c: c.update(peerings=[])), "has no AzurePrivatePeering"),
    ("a circuit not in the folder", lambda d: edit(d, "connections.json", lambda c: c[0]["peer"].update(
        id="/subscriptions/0/providers/Microsoft.Network/expressRouteCircuits/other")), "field peer: names 'other'"),
    ("two IPsec connections", lambda d: edit(d, "connections.json", lambda c: c.append(dict(c[1], name="second"))),
     "is a second IPsec connection"),
    ("an unknown algorithm", lambda d: edit(d, "connections.json", lambda c: c[1].update(ipsecPolicies=[{
        "ikeEncryption": "AES999", "ikeIntegrity": "SHA1", "dhGroup": "DHGroup2", "ipsecEncryption": "AES256",
        "ipsecIntegrity": "SHA256", "pfsGroup": "None"}])), "field ipsecPolicies: aes999 is missing or names an algorithm"),
    ("an overlapping plan", lambda d: edit(d, "vnet.json", lambda v: v["addressSpace"].update(addressPrefixes=["10.20.0.0/16"])),
     "overlaps"),
]


@pytest.mark.parametrize("what, breaks, says", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_bad_export_is_refused_in_one_sentence_and_nothing_is_written(export, tmp_path, what, breaks, says):
    breaks(export)
    out = tmp_path / "out" / "net.yaml"
    with pytest.raises(TestbedError) as e:
        importer.run(export, out)
    assert says in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert not out.exists() and not (out.parent / "keys").exists()
    assert not list(out.parent.glob(".import-*")) if out.parent.exists() else True


def test_the_two_circuit_export_mirrors_the_weights_on_prem(tmp_path):
    net, notes, _ = imported(EXPORT.parent / "two-circuits", tmp_path)
    ams, fra = net["expressroute"]["circuits"]
    assert (ams["peering_location"], ams["local_pref"], fra["peering_location"], fra["local_pref"]) == (
        "Amsterdam", 200, "Frankfurt", 150)
    assert [x["routing_weight"] for x in net["expressroute"]["gateways"][0]["connections"]] == [100, 0]
    gw, lng = net["vpn"]["gateways"][0], net["vpn"]["local_gateways"][0]
    assert gw["instances"] == 1 and gw["bgp_addresses"] == ["10.10.255.4"] and gw["bgp_peering"] == "gatewaysubnet"
    assert lng["bgp_address"] == "10.20.254.1" and lng["address_space"] == []   # its own /32 is the BGP peer
    vpn1 = next(r for r in net["onprem"]["sites"][0]["routers"] if r["name"] == "vpn1")
    assert vpn1["loopbacks"] == ["10.20.254.1/32"]
    assert net["vpn"]["connections"][0]["dpd_timeout_s"] == 30


def test_an_empty_or_missing_folder(tmp_path):
    with pytest.raises(TestbedError, match="holds no .json file"):
        importer.run(tmp_path, tmp_path / "n.yaml")
    with pytest.raises(TestbedError, match="is not a folder"):
        importer.run(tmp_path / "nope", tmp_path / "n.yaml")
