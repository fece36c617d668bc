"""testbed lint: each Azure conformance problem, in a config crafted to have it, is reported with
its file, line and fix; the good example gives nothing (no root needed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from testbed.azure.lint import Finding, lint_files
from testbed.ui import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy"
GOOD = {name: (EXAMPLE / f"{name}.conf").read_text() for name in ("ce1", "ce2", "vpn1")}


def write(tmp_path: Path, changes: dict[str, list[tuple[str, str]]]) -> list[Path]:
    """The good example set with ``(old, new)`` replacements applied per file."""
    paths = []
    for name, text in GOOD.items():
        for old, new in changes.get(name, []):
            assert old in text, old
            text = text.replace(old, new)
        path = tmp_path / f"{name}.conf"
        path.write_text(text)
        paths.append(path)
    return paths


def findings(tmp_path: Path, premium: bool = False, **changes) -> list[Finding]:
    return lint_files(write(tmp_path, changes), premium=premium)


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def test_good_example_has_no_findings():
    assert lint_files([EXAMPLE / f"{n}.conf" for n in GOOD]) == []


def test_reserved_asn(tmp_path):
    (f,) = findings(tmp_path, ce1=[("router bgp 65020", "router bgp 65515")])
    assert (Path(f.path).name, f.line) == ("ce1.conf", line_of(tmp_path / "ce1.conf", "router bgp 65515"))
    assert "reserved by Azure" in f.problem and "65020" in f.fix


def test_no_bfd_toward_the_msee(tmp_path):
    (f,) = findings(tmp_path, ce2=[(" neighbor 192.168.100.134 bfd profile azure-er\n", "")])
    assert f.path.endswith("ce2.conf") and "no BFD toward MSEE 192.168.100.134" in f.problem
    assert f.line == line_of(tmp_path / "ce2.conf", "192.168.100.134 remote-as 12076")
    assert "neighbor 192.168.100.134 bfd" in f.fix


def test_timers_below_azure_minimum(tmp_path):
    router_level = [(" bgp log-neighbor-changes\n", " bgp log-neighbor-changes\n timers bgp 2 6\n")]
    per_neighbor = [(" neighbor 192.168.100.130 bfd profile azure-er\n",
                     " neighbor 192.168.100.130 bfd profile azure-er\n neighbor 192.168.100.130 timers 1 3\n")]
    found = findings(tmp_path, ce1=per_neighbor, ce2=router_level)
    assert [(Path(f.path).name, f.line) for f in found] == [
        ("ce1.conf", line_of(tmp_path / "ce1.conf", "timers 1 3")),
        ("ce2.conf", line_of(tmp_path / "ce2.conf", "timers bgp 2 6"))]
    assert all("below Azure's minimum keepalive 3 s / hold 10 s" in f.problem for f in found)
    # the neighbor's own (conforming) timers win over the router's
    assert findings(tmp_path, ce1=router_level + [(" neighbor 192.168.100.130 bfd profile azure-er\n",
                                                   " neighbor 192.168.100.130 bfd profile azure-er\n"
                                                   " neighbor 192.168.100.130 timers 10 30\n")]) == []


def test_too_many_prefixes_toward_the_msee(tmp_path):
    statics = "".join(f"ip route 10.{20 + i // 256}.{i % 256}.0/24 blackhole\n" for i in range(4001))
    changes = {"ce1": [("!\nrouter bgp", statics + "!\nrouter bgp"),
                       ("  neighbor 192.168.100.130 route-map ER-OUT out\n", "  redistribute static\n")]}
    (f,) = findings(tmp_path, **changes)
    assert "4,001 prefixes would be advertised to MSEE 192.168.100.130" in f.problem and "4,000" in f.problem
    assert f.line == line_of(tmp_path / "ce1.conf", "192.168.100.130 remote-as 12076")
    assert findings(tmp_path, premium=True, **changes) == []     # Premium: 10,000


def test_outbound_filter_wider_than_the_limit(tmp_path):
    (f,) = findings(tmp_path, ce1=[("permit 10.20.0.0/16", "permit 10.0.0.0/8 le 24")])
    assert "lets up to 131,071 prefixes through" in f.problem
    assert f.line == line_of(tmp_path / "ce1.conf", "permit 10.0.0.0/8 le 24")


def test_vpn_preferred_over_expressroute(tmp_path):
    paths = write(tmp_path, {})
    broken = EXAMPLE / "broken" / "vpn1.conf"
    (f,) = lint_files([paths[0], paths[1], broken])
    assert (f.path, f.line) == (str(broken), line_of(broken, "set local-preference 200"))
    assert "local-preference 200" in f.problem and "150" in f.problem and "asymmetric" in f.problem


def test_equal_preference_needs_a_prepend_on_the_vpn(tmp_path):
    equal = [("set local-preference 100", "set local-preference 150")]
    (f,) = findings(tmp_path, vpn1=equal)
    assert "does not prefer ExpressRoute" in f.problem
    prepended = equal + [(" set local-preference 150\n", " set local-preference 150\n set as-path prepend 65020 65020\n")]
    assert findings(tmp_path, vpn1=prepended) == []


def test_more_specific_toward_the_vpn(tmp_path):
    (f,) = findings(tmp_path, vpn1=[("ONPREM-OUT seq 10 permit 10.20.0.0/16", "ONPREM-OUT seq 10 permit 10.20.0.0/16 le 24")])
    assert f.path.endswith("vpn1.conf") and "10.20.0.0/16 le 24 may be advertised to the VPN" in f.problem
    # a network statement on the VPN router, with no outbound filter there
    (f,) = findings(tmp_path, vpn1=[("  neighbor AZURE-VPN route-map VPN-OUT out\n", "  network 10.20.1.0/24\n")])
    assert "10.20.1.0/24 may be advertised" in f.problem and "10.20.0.0/16" in f.problem
    assert f.line == line_of(tmp_path / "vpn1.conf", "network 10.20.1.0/24")


def test_apipa_peer_without_host_route_or_multihop(tmp_path):
    found = findings(tmp_path, vpn1=[("ip route 169.254.22.1/32 ipsec1\n", ""),
                                     (" neighbor AZURE-VPN ebgp-multihop 2\n", "")])
    assert sorted(f.problem.split(" (")[0] for f in found) == [
        "no /32 route to the VPN gateway's BGP address 169.254.22.1",
        "no eBGP multihop toward the VPN gateway's BGP address 169.254.21.1",
        "no eBGP multihop toward the VPN gateway's BGP address 169.254.22.1",
    ]
    assert any("ip route 169.254.22.1/32 <tunnel interface>" in f.fix for f in found)


def test_tunnel_mtu_and_mss(tmp_path):
    found = findings(tmp_path, vpn1=[("!\nrouter bgp", "interface ipsec0\n mtu 1500\n ip tcp adjust-mss 1460\n!\nrouter bgp"),
                                     (" neighbor 169.254.21.1 update-source 169.254.21.2\n",
                                      " neighbor 169.254.21.1 update-source 169.254.21.2\n neighbor 169.254.21.1 tcp-mss 1400\n")])
    assert [f.problem.split(" is above")[0] for f in found] == [
        "mtu 1500 on tunnel interface ipsec0", "TCP MSS 1460 on tunnel interface ipsec0", "tcp-mss 1400 toward 169.254.21.1"]


def test_cli_exit_code_and_output(tmp_path, capsys):
    assert cli.main(["lint", *map(str, (EXAMPLE / f"{n}.conf" for n in GOOD))]) == 0
    assert "0 findings in 3 files" in capsys.readouterr().err
    paths = write(tmp_path, {"ce1": [("router bgp 65020", "router bgp 12076")]})
    assert cli.main(["lint", *map(str, paths)]) == 1
    out = capsys.readouterr()
    assert out.out.startswith(f"{paths[0]}:") and "; fix: " in out.out and "1 finding in 3 files" in out.err


def test_missing_file_is_one_sentence(capsys):
    assert cli.main(["lint", "/nonexistent/edge.conf"]) == 1
    assert "cannot read config /nonexistent/edge.conf" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["ce1", "ce2", "vpn1"])
def test_example_parses_as_frr_itself_does(name):
    """The static reader sees what FRR sees in the example: the AS and every session."""
    from testbed.daemons.frrconf import load
    cfg = load(EXAMPLE / f"{name}.conf")
    assert cfg.asn == 65020 and all(cfg.remote_as(p) for p in cfg.peers())
