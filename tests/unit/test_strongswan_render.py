"""Pure unit tests of testbed.daemons.strongswan: rendering, log diagnosis, pid-file bookkeeping."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from testbed.daemons.strongswan import (
    PLUGINS,
    Charon,
    TunnelSpec,
    failure_reason,
    leftover_pids,
    render_strongswan_conf,
    render_swanctl_conf,
)

SECRET = "not-in-any-rendered-file"


@pytest.fixture
def spec(tmp_path: Path) -> TunnelSpec:
    psk = tmp_path / "psk"
    psk.write_text(SECRET + "\n")
    return TunnelSpec(
        name="vpngw0",
        local_addr="198.51.100.2",
        remote_addr="203.0.113.2",
        psk_file=psk,
        initiator=True,
        routing_table=1001,
    )


def _setting(text: str, key: str) -> str:
    found = re.findall(rf"^\s*{re.escape(key)} = (.*)$", text, re.M)
    assert len(found) == 1, f"{key}: {found}"
    return found[0]


def test_strongswan_conf(spec: TunnelSpec, tmp_path: Path) -> None:
    conf = render_strongswan_conf(spec, vici_socket=tmp_path / "c.vici", log_file=tmp_path / "c.log")
    load = _setting(conf, "load").split()
    assert load == PLUGINS
    for needed in ("kernel-libipsec", "kernel-netlink", "socket-default", "vici", "openssl", "sha1", "nonce", "updown"):
        assert needed in load
    for unwanted in ("bypass-lan", "forecast", "farp", "stroke"):
        assert unwanted not in load
    assert load.index("kernel-libipsec") < load.index("kernel-netlink")
    assert _setting(conf, "install_routes") == "no"
    assert _setting(conf, "routing_table") == "1001"
    assert _setting(conf, "routing_table_prio") == "32767"
    assert _setting(conf, "port") == "500"
    assert _setting(conf, "port_nat_t") == "4500"
    assert _setting(conf, "socket") == f"unix://{tmp_path}/c.vici"
    assert _setting(conf, "path") == f"{tmp_path}/c.log"
    assert [_setting(conf, f"retransmit_{k}") for k in ("timeout", "base", "tries")] == ["2.0", "2.0", "3"]
    assert _setting(conf, "time_add_ms") == "yes"
    assert _setting(conf, "flush_line") == "yes"
    assert conf.count("{") == conf.count("}")


def test_second_charon_ports(spec: TunnelSpec, tmp_path: Path) -> None:
    spec.ike_port, spec.nat_t_port, spec.routing_table = 1500, 14500, 1002
    conf = render_strongswan_conf(spec, vici_socket=tmp_path / "v", log_file=tmp_path / "l")
    assert (_setting(conf, "port"), _setting(conf, "port_nat_t")) == ("1500", "14500")
    assert _setting(conf, "routing_table") == "1002"
    # The responder answers to the source port: the remote side stays on 500.
    assert _setting(render_swanctl_conf(spec, updown=Path('/x/updown.sh')), "remote_port") == "500"


def test_swanctl_conf_initiator(spec: TunnelSpec) -> None:
    conf = render_swanctl_conf(spec, updown=Path('/x/updown.sh'))
    assert _setting(conf, "version") == "2"
    assert _setting(conf, "local_addrs") == "198.51.100.2"
    assert _setting(conf, "remote_addrs") == "203.0.113.2"
    assert _setting(conf, "proposals") == "aes256-sha256-modp1024"
    assert _setting(conf, "esp_proposals") == "aes256-sha256"
    assert _setting(conf, "encap") == "yes"
    assert _setting(conf, "local_ts") == "0.0.0.0/0"
    assert _setting(conf, "remote_ts") == "0.0.0.0/0"
    assert re.findall(r"auth = (\S+)", conf) == ["psk", "psk"]
    assert re.findall(r"\bid = (\S+)", conf) == ["198.51.100.2", "203.0.113.2"]
    # Lifetimes are hard limits: IKE rekey + over_time = 28,800 s, CHILD life_time = 27,000 s.
    assert int(_setting(conf, "over_time")[:-1]) + int(re.findall(r"rekey_time = (\d+)s", conf)[0]) == 28800
    assert _setting(conf, "life_time") == "27000s"
    assert _setting(conf, "dpd_delay") == "15s"
    assert _setting(conf, "start_action") == "start"
    assert _setting(conf, "dpd_action") == "restart"
    assert _setting(conf, "close_action") == "start"
    assert conf.count("{") == conf.count("}")


def test_swanctl_conf_responder_and_ids(spec: TunnelSpec) -> None:
    spec.initiator = False
    spec.local_id, spec.remote_id = "gw0.azure.example", "onprem.example"
    conf = render_swanctl_conf(spec, updown=Path('/x/updown.sh'))
    assert _setting(conf, "start_action") == "none"
    assert _setting(conf, "dpd_action") == "clear"
    assert _setting(conf, "close_action") == "none"
    assert re.findall(r"\bid = (\S+)", conf) == ["gw0.azure.example", "onprem.example"]


def test_psk_never_rendered(spec: TunnelSpec, tmp_path: Path) -> None:
    rendered = render_swanctl_conf(spec, updown=Path('/x/updown.sh')) + render_strongswan_conf(
        spec, vici_socket=tmp_path / "v", log_file=tmp_path / "l"
    )
    assert SECRET not in rendered
    assert SECRET not in repr(spec)


def test_dead_peer_detection_matches_azure_dpd_timeout(spec: TunnelSpec) -> None:
    assert spec.dead_peer_after_s == 45.0
    # strongSwan's defaults: sends at 4, 11, 24, 47, 89 s, gives up at 165 s.
    spec.dpd_delay_s, spec.retransmit_timeout_s, spec.retransmit_base, spec.retransmit_tries = 0, 4.0, 1.8, 5
    assert spec.dead_peer_after_s == pytest.approx(165.06, abs=0.01)


# Log excerpts recorded from charon 5.9.8 on this machine (one per failure, both ends).
_PSK_INITIATOR = """\
2026-11-25 18:32:49.729 16[IKE] <t0|1> authentication of '198.51.100.1' (myself) with pre-shared key
2026-11-25 18:32:49.730 01[ENC] <t0|1> parsed IKE_AUTH response 1 [ N(AUTH_FAILED) ]
2026-11-25 18:32:49.730 01[IKE] <t0|1> received AUTHENTICATION_FAILED notify error
"""
_PSK_RESPONDER = """\
2026-11-25 18:32:49.730 13[CFG] <t0|1> selected peer config 't0'
2026-11-25 18:32:49.730 13[IKE] <t0|1> tried 1 shared key for '198.51.100.2' - '198.51.100.1', but MAC mismatched
2026-11-25 18:32:49.730 13[ENC] <t0|1> generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]
"""
_IKE_PROPOSAL_INITIATOR = """\
2026-11-25 18:32:55.692 01[ENC] <t0|1> parsed IKE_SA_INIT response 0 [ N(NO_PROP) ]
2026-11-25 18:32:55.692 01[IKE] <t0|1> received NO_PROPOSAL_CHOSEN notify error
"""
_IKE_PROPOSAL_RESPONDER = """\
2026-11-25 18:32:55.692 12[CFG] <1> selecting proposal:
2026-11-25 18:32:55.692 12[CFG] <1>   no acceptable ENCRYPTION_ALGORITHM found
2026-11-25 18:32:55.692 12[CFG] <1> received proposals: IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048
2026-11-25 18:32:55.692 12[CFG] <1> configured proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024
2026-11-25 18:32:55.692 12[CFG] <1> looking for IKEv2 configs for 198.51.100.2...198.51.100.1
2026-11-25 18:32:55.692 12[CFG] <1>   candidate: 198.51.100.2...198.51.100.1, prio 3100
2026-11-25 18:32:55.692 12[CFG] <1> received supported signature hash algorithms: sha256 sha384 sha512 identity
2026-11-25 18:32:55.692 12[IKE] <1> remote host is behind NAT
2026-11-25 18:32:55.692 12[IKE] <1> received proposals unacceptable
"""
_ESP_PROPOSAL_INITIATOR = """\
2026-11-25 18:33:03.391 16[IKE] <t0|1> IKE_SA t0[1] state change: CONNECTING => ESTABLISHED
2026-11-25 18:33:03.391 16[IKE] <t0|1> received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built
2026-11-25 18:33:03.391 16[IKE] <t0|1> failed to establish CHILD_SA, keeping IKE_SA
"""
_ESP_PROPOSAL_RESPONDER = """\
2026-11-25 18:33:03.389 12[CFG] <1> received proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024
2026-11-25 18:33:03.389 12[CFG] <1> configured proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024
2026-11-25 18:33:03.389 12[CFG] <1> selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024
2026-11-25 18:33:03.390 09[IKE] <t0|1> IKE_SA t0[1] state change: CONNECTING => ESTABLISHED
2026-11-25 18:33:03.390 09[CFG] <t0|1> received proposals: ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ
2026-11-25 18:33:03.390 09[CFG] <t0|1> configured proposals: ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ
2026-11-25 18:33:03.390 09[IKE] <t0|1> no acceptable proposal found
2026-11-25 18:33:03.390 09[IKE] <t0|1> failed to establish CHILD_SA, keeping IKE_SA
"""
_NO_XFRM = """\
2026-11-25 18:39:34.232 11[KNL] <t0|1> received netlink error: Protocol not supported (93)
2026-11-25 18:39:34.232 11[KNL] <t0|1> unable to add SAD entry with SPI cb94b66e (FAILED)
"""
_UNREACHABLE = """\
2026-11-25 18:34:52.120 11[IKE] <tu|1> retransmit 1 of request with message ID 0
2026-11-25 18:34:52.620 09[IKE] <tu|1> retransmit 2 of request with message ID 0
"""
_GAVE_UP = (
    _UNREACHABLE
    + """\
2026-11-25 18:34:53.120 01[IKE] <tu|1> giving up after 2 retransmits
2026-11-25 18:34:53.120 01[IKE] <tu|1> peer not responding, trying again (2/0)
2026-11-25 18:34:53.621 01[IKE] <tu|1> retransmit 1 of request with message ID 0
"""
)
_NO_CONFIG = """\
2026-11-25 18:33:27.812 09[IKE] <2> no IKE config found for 198.51.100.3...198.51.100.1, sending NO_PROPOSAL_CHOSEN
"""
_NO_KEY = """\
2026-11-25 18:33:27.800 15[IKE] <t0|1> no shared key found for '198.51.100.2' - '198.51.100.1'
"""
_ESTABLISHED = """\
2026-11-25 18:32:41.322 16[IKE] <t0|1> IKE_SA t0[1] established between 198.51.100.1[198.51.100.1]...198.51.100.2[198.51.100.2]
2026-11-25 18:32:41.322 16[IKE] <t0|1> CHILD_SA t0{1} established with SPIs c1a0b0d2_i c5d1e6f3_o and TS 0.0.0.0/0 === 0.0.0.0/0
"""


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        (_PSK_INITIATOR, r"AUTHENTICATION_FAILED.*pre-shared keys or IDs differ"),
        (_PSK_RESPONDER, r"peer 198\.51\.100\.1 does not match our pre-shared key \(wrong pre-shared key\)"),
        (_IKE_PROPOSAL_INITIATOR, r"NO_PROPOSAL_CHOSEN: IKE proposal mismatch"),
        (_IKE_PROPOSAL_RESPONDER, r"proposed IKE:AES_CBC_128/\S+ but we accept only IKE:AES_CBC_256/\S+ .*mismatch"),
        (_ESP_PROPOSAL_INITIATOR, r"IKE SA is up but .* ESP proposals"),
        (_ESP_PROPOSAL_RESPONDER, r"proposed ESP:AES_CBC_128/\S+ but we accept only ESP:AES_CBC_256/\S+ "),
        (_NO_XFRM, r"could not install IPsec SA cb94b66e .*kernel-libipsec"),
        (_UNREACHABLE, r"did not answer \(2 retransmits so far\): peer unreachable"),
        (_GAVE_UP, r"gave up after 2 retransmits\): peer unreachable"),
        (_NO_CONFIG, r"no connection is configured for 198\.51\.100\.3\.\.\.198\.51\.100\.1"),
        (_NO_KEY, r"no pre-shared key is loaded for the identities 198\.51\.100\.2 and 198\.51\.100\.1"),
    ],
)
def test_failure_reason(log: str, expected: str) -> None:
    reason = failure_reason(log)
    assert reason is not None
    assert re.search(expected, reason), reason
    assert reason.count(". ") == 0 and reason.endswith(".")  # one sentence


def test_failure_reason_only_after_last_established() -> None:
    assert failure_reason("") is None
    assert failure_reason(_ESTABLISHED) is None
    # An early retransmit is history once the tunnel is up; a later one is news.
    assert failure_reason(_UNREACHABLE + _ESTABLISHED) is None
    assert "retransmit" in (failure_reason(_ESTABLISHED + _UNREACHABLE) or "")


def test_charon_rejects_run_dir_under_run(spec: TunnelSpec, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="under /run"):
        Charon(node=None, spec=spec, run_dir=Path("/run/testbed"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="too long"):
        Charon(node=None, spec=spec, run_dir=tmp_path / ("x" * 100))  # type: ignore[arg-type]


def test_leftover_pids_ignores_stale_and_foreign(tmp_path: Path) -> None:
    (tmp_path / "vpngw0").mkdir()
    (tmp_path / "vpngw0" / "charon.pid").write_text(f"{os.getpid()}\n")  # alive, but not a charon
    (tmp_path / "vpngw1").mkdir()
    (tmp_path / "vpngw1" / "charon.pid").write_text("garbage\n")
    assert leftover_pids(tmp_path) == []


def _updown(spec: TunnelSpec, tmp_path: Path, monkeypatch, tun: str):
    """The rendered updown script for ``tun``, run with a stand-in for ip: ``verb(V)`` runs it
    for PLUTO_VERB V and returns what it asked of ip and printed."""
    import subprocess

    from testbed.daemons import strongswan
    log = tmp_path / "ip.log"
    stub = tmp_path / "ip"
    stub.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    stub.chmod(0o755)
    monkeypatch.setattr(strongswan.shutil, "which", lambda name: str(stub) if name == "ip" else f"/usr/bin/{name}")
    script = tmp_path / "updown.sh"
    script.write_text(strongswan.render_updown(spec, tun=tun, count=tmp_path / "child_sas"))
    script.chmod(0o700)

    def verb(v: str) -> str:
        log.write_text("")
        out = subprocess.run([str(script)], env={"PLUTO_VERB": v}, capture_output=True, text=True, check=True)
        return log.read_text() + out.stdout
    return verb


def test_the_updown_script_drops_carrier_only_with_the_last_child_sa(spec, tmp_path, monkeypatch):
    """Carrier follows the count of CHILD SAs, so a replacing SA (up, then the old one's down)
    leaves the device up."""
    verb = _updown(spec, tmp_path, monkeypatch, "ipsec7")
    assert "set dev ipsec7 carrier on" in verb("up-client")
    assert "set dev ipsec7 carrier on" in verb("up-client")           # the replacing SA
    assert "carrier" not in verb("down-client")                        # the replaced one goes: one is left
    down = verb("down-client")
    assert "set dev ipsec7 carrier off" in down and "show dev ipsec7" in down and "no CHILD SA left" in down
    assert "carrier off" in verb("down-client") and (tmp_path / "child_sas").read_text().strip() == "0"  # stays 0


def test_kernel_esp_charon_binds_its_sas_to_the_xfrm_interface(spec: TunnelSpec, tmp_path: Path) -> None:
    """Kernel ESP: no kernel-libipsec (kernel-netlink's XFRM then installs the SAs), no
    routing table or rule, and the CHILD SA's SAs and policies on the tunnel's if_id."""
    from dataclasses import replace
    kernel = replace(spec, dataplane="kernel", device="ipsec1", if_id=2)
    conf = render_strongswan_conf(kernel, vici_socket=tmp_path / "c.vici", log_file=tmp_path / "c.log")
    load = _setting(conf, "load").split()
    assert "kernel-libipsec" not in load and "kernel-netlink" in load
    assert _setting(conf, "routing_table") == "0" and _setting(conf, "install_routes") == "no"
    assert "routing_table_prio" not in conf
    swanctl = render_swanctl_conf(kernel, updown=tmp_path / "updown.sh")
    assert _setting(swanctl, "if_id_in") == "2" and _setting(swanctl, "if_id_out") == "2"
    assert "if_id" not in render_swanctl_conf(spec, updown=tmp_path / "updown.sh")


def test_the_updown_script_takes_an_xfrm_interface_down_with_the_last_child_sa(spec, tmp_path, monkeypatch):
    """An XFRM interface has no carrier to set: its link goes down and up instead."""
    from dataclasses import replace
    verb = _updown(replace(spec, dataplane="kernel"), tmp_path, monkeypatch, "ipsec0")
    assert verb("up-client").splitlines()[:2] == ["link set dev ipsec0 up", "link show dev ipsec0"]
    assert verb("down-client").splitlines()[:2] == ["link set dev ipsec0 down", "link show dev ipsec0"]
