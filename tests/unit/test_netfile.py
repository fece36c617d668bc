"""Network files: the schema, the loader's one-sentence refusals (file, line, key, fix), the
address plan, and the shipped files (no root, fast)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.errors import TestbedError
from testbed.model import catalog, content
from testbed.model.network.load import dotted, load
from testbed.model.network.schema import NetworkFile

GOOD = (Path(__file__).parent / "networks" / "good.yaml").read_text()

# (what is wrong, the edit that breaks the good file, the line reported, what the sentence says)
BAD = [
    ("reserved ASN", ("asn: 65010", "asn: 65515"), 3, "onprem.asn 65515 is reserved by Azure"),
    ("a node named twice", ("{name: ce2}", "{name: ce1}"), 10, "'ce1' names a second node"),
    ("a host on an undeclared router", ("router: core, subnet", "router: cor, subnet"), 13,
     "names router 'cor', which no site declares: declare it or use one of core"),
    ("a peering subnet of the wrong size", ("192.168.100.128/29", "192.168.100.128/30"), 21, "must be a /29"),
    ("on-prem overlaps the VNet", ("[10.1.0.0/16]", "[10.10.0.0/16]"), 6, "overlaps 10.10.0.0/16"),
    ("an unknown key", ("  asn: 65010\n", "  asn: 65010\n  colour: red\n"), 4, "onprem.colour is not a key here"),
    ("a name a namespace cannot have", ("{name: core}", "{name: Core-Router}"), 8, "is not a valid name here"),
    ("a prefix that is none", ("10.1.1.0/24", "10.1.1.0/33"), 13, "'10.1.1.0/33' is not an IPv4 network"),
    ("a connection to an undeclared circuit", ("circuit: er}", "circuit: xr}"), 26, "names circuit 'xr', which is not declared"),
    ("a circuit with one edge for both links", ("secondary: {router: ce2}", "secondary: {router: ce1}"), 23,
     "is the primary's router too"),
    ("a key that is missing", ("    - name: er\n", "    -\n"), 21, "circuits[0].name is missing: add it"),
    ("YAML that does not parse", ("name: mine", "name: [mine"), 2, "the YAML does not parse"),
    ("a wrong literal", ("      peering_subnet:", "      sku: gold\n      peering_subnet:"), 21, "use 'standard' or 'premium'"),
    ("a local gateway on an undeclared router", ("router: vpn1}", "router: vpn9}"), 29, "names router 'vpn9'"),
    ("a BGP address the router does not have", ("router: vpn1}", "router: vpn1, bgp_address: 10.9.9.9}"), 29,
     "10.9.9.9 is not an address of vpn1: put it on a loopback"),
    ("gateway BGP addresses outside GatewaySubnet and APIPA", ("{name: vpngw}", "{name: vpngw, bgp_addresses: [10.9.0.4, 10.9.0.5]}"),
     28, "10.9.0.4 is neither in the GatewaySubnet 10.10.255.0/24 nor in Azure's APIPA range"),
    ("fewer BGP addresses than instances", ("{name: vpngw}", "{name: vpngw, bgp_addresses: [169.254.21.1]}"), 28,
     "gives 1 address(es) for 2 instance(s)"),
    ("a link address outside its subnet", ("[{node: core}, {node: ce1}]",
                                           "[{node: core, address: 10.1.254.1/30}, {node: ce1, address: 10.1.253.2/30}]\n      subnet: 10.1.254.0/30"),
     15, "10.1.253.2/30 is not in the link's subnet"),
    ("an unknown parameter", ("name: mine\n", "name: mine\nparams: {bfd.intervall_ms: 100}\n"), 2, "unknown parameter 'bfd.intervall_ms'"),
    ("a config file that is not there", ("{name: ce1}", "{name: ce1, config: ce1.conf}"), 9, "names ce1.conf, which is not a file"),
    ("a spoke whose hub has no gateway", ("vpn:\n", "vnets:\n  - {name: vnet}\n"
                                           "  - {name: other, address_space: [10.50.0.0/16], subnets: [{prefix: 10.50.1.0/24, vms: [vm2]}]}\n"
                                           "  - {name: spoke, hub: other, address_space: [10.51.0.0/16], subnets: [{prefix: 10.51.1.0/24, vms: [vm3]}]}\n"
                                           "vpn:\n"),
     30, "names hub 'other', which has no gateway"),
    ("a probe end that is not a host", ("name: mine\n", "name: mine\nprobes: [core, vm1]\n"), 2, "'core' is not an on-prem host"),
    ("two routers with one router id", ("{name: ce1}\n        - {name: ce2}",
                                         "{name: ce1, router_id: 10.9.0.1}\n        - {name: ce2, router_id: 10.9.0.1}"),
     10, "10.9.0.1 is ce1's router id too"),
    ("a pool inside a VNet", ("name: mine\n", "name: mine\nparams: {msee.backbone: 10.10.200.0/24}\n"), 2,
     "the pool msee.backbone 10.10.200.0/24 overlaps 10.10.0.0/16 of VNet vnet"),
    ("a GatewaySubnet outside its VNet", ("vpn:\n", "vnets: [{name: vnet, gateway_subnet: 10.99.255.0/24}]\nvpn:\n"), 27,
     "the GatewaySubnet 10.99.255.0/24 is not inside VNet vnet's address space"),
    ("a file that is a list", (GOOD, "- name: mine\n"), 1, "a network file is a mapping of keys"),
    ("more VNet prefixes than Azure advertises", ("name: mine\n", "name: mine\nparams: {ergw.advertise_limit: 0}\n"), 26,
     "VNet vnet and its spokes have 1 address space(s), above the 0 IPv4 prefixes Azure advertises per ExpressRoute connection"),
]


def write(tmp_path: Path, edit: tuple[str, str]) -> Path:
    old, new = edit
    assert old in GOOD, old
    path = tmp_path / "net.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    return path


def test_the_good_file_builds():
    topo = catalog.build(str(Path(__file__).parent / "networks" / "good.yaml"))
    assert topo.name == "mine" and topo.endpoints == ("h1", "vm1")
    assert list(topo.circuits) == ["er"] and topo.routers["vpn1"].loopbacks == ["10.1.255.1/32"]


@pytest.mark.parametrize("what, edit, line, says", BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_refused_in_one_sentence(tmp_path, what, edit, line, says):
    path = write(tmp_path, edit)
    with pytest.raises(TestbedError) as e:
        catalog.build(str(path))
    msg = str(e.value)
    assert msg.startswith(f"{path} line {line}: "), msg
    assert says in msg, msg
    assert "\n" not in msg and msg.endswith("."), msg
    assert re.search(r": [^:]+\.$", msg) or "use" in msg or "fix" in msg, msg   # it names the fix


def test_at_least_fifteen_bad_files():
    assert len(BAD) >= 15


def test_an_empty_file_and_a_missing_one(tmp_path):
    (tmp_path / "e.yaml").write_text("")
    with pytest.raises(TestbedError, match="is empty: describe the network"):
        load(tmp_path / "e.yaml")
    with pytest.raises(TestbedError, match="cannot read network file .*nope.yaml: No such file"):
        load(tmp_path / "nope.yaml")


def test_the_schema_is_json_schema_with_every_section():
    schema = NetworkFile.model_json_schema()
    json.dumps(schema)
    assert {"onprem", "expressroute", "vpn", "vnets", "probes", "params"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert "Circuit" in schema["$defs"] and "routing_weight" in schema["$defs"]["ErConnection"]["properties"]


@pytest.mark.parametrize("name", sorted(content.networks()))
def test_every_shipped_network_builds(name):
    topo = catalog.build(name)
    assert topo.origin == name and len(topo.endpoints) == 2 and topo.paths


def test_two_circuits_prefer_amsterdam_and_keep_spokes_apart():
    topo = catalog.build("two-circuits-hub-spoke")
    assert list(topo.circuits) == ["ams", "fra"]
    assert topo.routers["ams1"].route_maps[0].lines == ["set local-preference 200"]
    for i in (0, 1):
        ergw = {n.label: n.weight for n in topo.routers[f"ergw{i}"].neighbors}
        assert ergw[f"msee1-ergw{i}"] == 100 and ergw[f"msee3-ergw{i}"] is None
    to_spoke1 = next(m for m in topo.routers["hub"].route_maps if m.name == "TO-SPOKE1")
    assert to_spoke1.deny == ["10.102.0.0/16"]      # spoke2's space never reaches spoke1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet="abc", min_size=1, max_size=3), st.integers(0, 5)), max_size=6))
def test_dotted_names_a_key_as_written(loc):
    out = dotted(tuple(loc))
    assert all(str(part) in out for part in loc)


def test_md5_key_and_static_address_space_reach_the_configs(tmp_path):
    from testbed.daemons.render import frr_conf
    (tmp_path / "er.key").write_text("s3cret\n")
    net = GOOD.replace("      peering_subnet: 192.168.100.128/29\n",
                       "      peering_subnet: 192.168.100.128/29\n      md5_key_file: er.key\n")
    net = net.replace("router: vpn1}", "router: vpn1, address_space: [10.1.200.0/24]}")
    (tmp_path / "net.yaml").write_text(net)
    topo = catalog.build(str(tmp_path / "net.yaml"))
    for router in ("ce1", "msee1", "ce2", "msee2"):
        assert " password s3cret" in frr_conf(topo.routers[router], logfile="/dev/null"), router
    gw = topo.routers["vpngw0"]
    assert ("10.1.200.0/24", "ipsec0") in gw.statics and "10.1.200.0/24" in gw.networks


def test_the_advertise_limit_counts_the_hub_and_its_spokes_address_spaces(tmp_path):
    spokes = "".join(f"  - {{name: s{k}, hub: vnet, address_space: [10.{60 + k}.0.0/16], "
                     f"subnets: [{{prefix: 10.{60 + k}.1.0/24, vms: [vm{k + 2}]}}]}}\n" for k in range(3))
    net = GOOD.replace("vpn:\n", "vnets:\n  - {name: vnet, address_space: [10.10.0.0/16, 10.11.0.0/16]}\n"
                       + spokes + "vpn:\n")
    (tmp_path / "net.yaml").write_text(net.replace("name: mine\n", "name: mine\nparams: {ergw.advertise_limit: 4}\n"))
    with pytest.raises(TestbedError, match=r"have 5 address space\(s\), above the 4 IPv4 prefixes"):
        catalog.build(str(tmp_path / "net.yaml"))
    (tmp_path / "net.yaml").write_text(net.replace("name: mine\n", "name: mine\nparams: {ergw.advertise_limit: 5}\n"))
    assert catalog.build(str(tmp_path / "net.yaml")).routers["s2"]


def test_an_onprem_md5_key_of_its_own_reaches_the_edges_only(tmp_path):
    from testbed.daemons.render import frr_conf
    (tmp_path / "er.key").write_text("s3cret\n")
    (tmp_path / "own.key").write_text("other\n")
    net = GOOD.replace("      peering_subnet: 192.168.100.128/29\n",
                       "      peering_subnet: 192.168.100.128/29\n      md5_key_file: er.key\n")
    (tmp_path / "net.yaml").write_text(net)
    topo = catalog.build(str(tmp_path / "net.yaml"), {"onprem.md5_key_file": str(tmp_path / "own.key")})
    assert " password other" in frr_conf(topo.routers["ce1"], logfile="/dev/null")
    assert " password s3cret" in frr_conf(topo.routers["msee1"], logfile="/dev/null")
    (tmp_path / "own.key").write_text("two words\n")
    with pytest.raises(TestbedError, match="MD5 key file .*own.key of onprem.md5_key_file must hold one word"):
        catalog.build(str(tmp_path / "net.yaml"), {"onprem.md5_key_file": str(tmp_path / "own.key")})


def test_the_er_gateway_is_two_instances_each_peering_with_every_msee():
    topo = catalog.build("expressroute")
    assert [r for r in topo.routers if r.startswith("ergw")] == ["ergw0", "ergw1"]
    for msee in ("msee1", "msee2"):
        assert {n.label for n in topo.routers[msee].neighbors} >= {f"{msee}-ergw0", f"{msee}-ergw1"}
    fib = {(e.node, e.prefix): e for e in topo.fib}
    assert fib[("vnet", "10.20.0.0/16")].via == ("ergw0-vnet", "ergw1-vnet")
    assert fib[("msee1", "10.10.0.0/16")].via == ("msee1-ergw0", "msee1-ergw1")
    assert fib[("ergw1", "10.20.0.0/16")].via == ("msee1-ergw1", "msee2-ergw1")


def test_one_er_gateway_instance_is_a_single_router():
    topo = catalog.build("expressroute", {"ergw.instances": 1})
    assert [r for r in topo.routers if r.startswith("ergw")] == ["ergw0"]
    assert next(e for e in topo.fib if e.node == "vnet").via == ("ergw0-vnet",)


def test_three_er_gateway_instances_are_refused():
    with pytest.raises(TestbedError, match="ergw.instances"):
        catalog.build("expressroute", {"ergw.instances": 3})
