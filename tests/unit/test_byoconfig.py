"""Bring your own config: the convention (config-template), the fit check and its one-sentence
refusals, the mapping, and the model following the user's config."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from policy_examples import EXAMPLE, topo, variant

from testbed.daemons import byoconfig
from testbed.errors import TestbedError
from testbed.ui import cli

# fit() runs FRR's own parser on the user's file before checking it against the node
needs_frr = pytest.mark.skipif(shutil.which("vtysh") is None, reason="FRR not installed")


def refusal(tmp_path: Path, node: str, *changes: tuple[str, str]) -> str:
    with pytest.raises(TestbedError) as e:
        byoconfig.fit(topo(), node, variant(tmp_path, node, *changes), logfile="/tmp/frr.log")
    return str(e.value)


@needs_frr
@pytest.mark.parametrize("node", ["ce1", "ce2", "vpn1"])
def test_examples_fit_and_are_mapped(node):
    text = byoconfig.fit(topo(), node, EXAMPLE / f"{node}.conf", logfile="/run/x/frr.log")
    lines = text.splitlines()
    # FRR's defaults line stays first; the run's log and the emulation workaround follow it
    assert lines[lines.index("frr defaults traditional") + 1:][:2] == [
        "log file /run/x/frr.log informational", "no zebra nexthop kernel enable"]


@needs_frr
def test_user_log_lines_are_replaced(tmp_path):
    path = variant(tmp_path, "ce1", ("hostname ce1\n", "hostname ce1\nlog syslog informational\nlog file /var/log/x.log\n"))
    text = byoconfig.fit(topo(), "ce1", path, logfile="/run/x/frr.log")
    assert "log syslog" not in text and "/var/log/x.log" not in text


@needs_frr
@pytest.mark.parametrize("node", ["core", "ce1", "ce2", "vpn1"])
def test_the_template_fits_its_node(tmp_path, node, capsys):
    assert cli.main(["config-template", node, "hybrid"]) == 0
    path = tmp_path / "t.conf"
    path.write_text(capsys.readouterr().out)
    byoconfig.fit(topo(), node, path, logfile="/tmp/frr.log")   # FRR parses it, and it fits


def test_node_files_are_parsed_once_for_cli_and_plugin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert byoconfig.node_files(["ce1=a.conf", "vpn1=/x/b.conf"]) == {"ce1": tmp_path / "a.conf",
                                                                      "vpn1": Path("/x/b.conf")}
    assert byoconfig.node_files(["ce1=sub/../a.conf"], base=tmp_path / "d") == {"ce1": tmp_path / "d" / "a.conf"}
    for bad in ("ce1.conf", "=a.conf", "ce1="):
        with pytest.raises(TestbedError, match=r"^--config wants NODE=FILE, got .*: write it like ce1=my-edge.conf\.$"):
            byoconfig.node_files([bad])


def test_log_lines_are_replaced_after_the_frr_lines():
    conf = "frr version 8.4\nfrr defaults traditional\nlog stdout\nlog stderr\nlog file /x\nlog timestamp precision 6\n"
    assert byoconfig.with_logfile(conf, "/run/l", ["extra"]).splitlines() == [
        "frr version 8.4", "frr defaults traditional", "log file /run/l informational", "extra",
        "log timestamp precision 6"]


def test_template_states_the_convention():
    text = byoconfig.template(topo(), "vpn1")
    for want in ("local AS: 65020", "vpn1-eth0  10.20.255.254/30 on core-vpn1 (to core 10.20.255.253)",
                 "ipsec0     169.254.21.2/32, IPsec vpn-tunnel0 (to vpngw0 169.254.21.1)",
                 "169.254.22.1     remote-as 65515  vpn-tunnel1 (vpngw1)"):
        assert want in text


@needs_frr
def test_wrong_local_as(tmp_path):
    msg = refusal(tmp_path, "ce1", ("router bgp 65020", "router bgp 65021"))
    assert "says router bgp 65021 but hybrid's on-prem AS is 65020: use 65020 or run with --set onprem.asn=65021" in msg


@needs_frr
def test_neighbor_that_is_not_a_peer(tmp_path):
    msg = refusal(tmp_path, "ce1", ("192.168.100.130", "192.168.100.2"))
    assert msg.startswith(f"{tmp_path / 'ce1.conf'} does not fit ce1 in hybrid: line ")
    assert "peers with 192.168.100.2, which is not a peer of ce1 in hybrid" in msg
    assert "192.168.100.130 (er-primary)" in msg
    assert msg.count(". ") == 0 and msg.endswith(".")  # one sentence


@needs_frr
def test_wrong_remote_as(tmp_path):
    msg = refusal(tmp_path, "ce1", ("192.168.100.130 remote-as 12076", "192.168.100.130 remote-as 12075"))
    assert "remote-as 12075 but msee1 is in AS 12076: use remote-as 12076" in msg


@needs_frr
def test_missing_session(tmp_path):
    msg = refusal(tmp_path, "vpn1", (" neighbor 169.254.22.1 peer-group AZURE-VPN\n", ""),
                  (" neighbor 169.254.22.1 description vpngw instance 1\n", ""),
                  (" neighbor 169.254.22.1 update-source 169.254.22.2\n", ""))
    assert "has no neighbor 169.254.22.1 (vpn-tunnel1, vpngw1 AS 65515), which vpngw1 expects" in msg


@needs_frr
def test_unknown_interface_and_update_source(tmp_path):
    msg = refusal(tmp_path, "vpn1", ("169.254.21.1/32 ipsec0", "169.254.21.1/32 tun0"))
    assert "via interface tun0, which vpn1 does not have: use lo, vpn1-eth0, vpn1-eth1, ipsec0, ipsec1" in msg
    msg = refusal(tmp_path, "vpn1", ("update-source 169.254.21.2", "update-source 10.0.0.1"))
    assert "update-source 10.0.0.1, which vpn1 does not have" in msg


@needs_frr
def test_several_problems_name_the_first_and_count_the_rest(tmp_path):
    msg = refusal(tmp_path, "ce1", ("router bgp 65020", "router bgp 65021"), ("192.168.100.130", "192.168.100.2"))
    assert "router bgp 65021" in msg and "(2 more problems after this one)" in msg


@needs_frr
def test_only_onprem_routers_take_a_config(tmp_path):
    with pytest.raises(TestbedError, match="'msee1' is not an on-prem router of hybrid"):
        byoconfig.fit(topo(), "msee1", EXAMPLE / "ce1.conf", logfile="/tmp/frr.log")


def test_model_follows_the_users_bfd_choice(tmp_path):
    t = topo()
    no_bfd = variant(tmp_path, "ce1", (" neighbor 192.168.100.130 bfd profile azure-er\n", ""))
    byoconfig.adopt(t, {"ce1": no_bfd, "ce2": EXAMPLE / "ce2.conf"})
    bfd = {(r.name, n.label): n.bfd is not None for r in t.routers.values() for n in r.neighbors if "er-" in n.label}
    assert bfd == {("ce1", "er-primary"): False, ("msee1", "er-primary"): False,
                   ("ce2", "er-secondary"): True, ("msee2", "er-secondary"): True}
    assert {e.nexthops for e in t.fib} == {1}
