"""The data plane choice (testbed.daemons.xfrm.resolve) against a node that answers as a kernel
with or without XFRM interfaces and ESP would (the commands' real error texts)."""
from __future__ import annotations

import subprocess

import pytest

from testbed.daemons import xfrm
from testbed.errors import TestbedError


@pytest.fixture(autouse=True)
def tun_device(tmp_path, monkeypatch):
    """A TUN device, whatever this machine has (the test that needs none removes it)."""
    (tmp_path / "tun").touch()
    monkeypatch.setattr(xfrm, "TUN_DEVICE", tmp_path / "tun")


class FakeNode:
    """Answers ``ip`` as a kernel lacking ``missing`` ('xfrmi', 'esp' or nothing) does."""

    name = "vpn1"

    def __init__(self, missing: str = "") -> None:
        self.missing = missing
        self.calls: list[list[str]] = []

    def popen(self, argv, **kw):
        self.calls.append(argv)
        fail = ((self.missing == "xfrmi" and argv[:3] == ["ip", "link", "add"]) or
                (self.missing == "esp" and argv[:4] == ["ip", "xfrm", "state", "add"]))
        text = {"xfrmi": "Error: Unknown device type.", "esp": "Error: Requested AEAD algorithm not found."}
        cmd = ["sh", "-c", f"echo '{text[self.missing]}'; exit 2"] if fail else ["true"]
        return subprocess.Popen(cmd, **kw)


@pytest.mark.parametrize("missing, plane, why", [
    ("", "kernel", "auto: the kernel has XFRM interfaces and ESP"),
    ("xfrmi", "libipsec", "auto: the kernel has no XFRM interfaces (ip link add type xfrm: Error: Unknown device type.)"),
    ("esp", "libipsec", "auto: the kernel has no ESP (ip xfrm state add: Error: Requested AEAD algorithm not found.)"),
])
def test_auto_takes_the_kernel_where_it_has_xfrm_interfaces_and_esp(missing, plane, why):
    node = FakeNode(missing)
    assert xfrm.resolve("auto", node) == (plane, why)
    if not missing:  # the probe's interface and SA are removed again
        assert ["ip", "link", "del", "tbxfrmprobe"] in node.calls
        assert any(c[:4] == ["ip", "xfrm", "state", "deleteall"] for c in node.calls)


def test_kernel_on_a_kernel_without_esp_is_refused_with_the_way_out():
    with pytest.raises(TestbedError, match=r"vpn.dataplane=kernel, but the kernel has no ESP .*"
                                           r"--set vpn.dataplane=libipsec"):
        xfrm.resolve("kernel", FakeNode("esp"))


def test_libipsec_asks_the_kernel_nothing():
    node = FakeNode("xfrmi")
    assert xfrm.resolve("libipsec", node) == ("libipsec", "vpn.dataplane=libipsec")
    assert node.calls == []


def test_an_unknown_data_plane_is_refused():
    from testbed.model import catalog
    with pytest.raises(TestbedError, match="vpn.dataplane is 'xfrm': use 'auto', 'kernel', 'libipsec'"):
        catalog.build("vpn", {"vpn.dataplane": "xfrm"})


def test_without_a_tun_device_userspace_esp_is_refused_before_charon_crashes(tmp_path):
    (tmp_path / "tun").unlink()
    with pytest.raises(TestbedError, match=r"vpn.dataplane=libipsec needs a TUN device, but .* is missing .*modprobe tun"):
        xfrm.resolve("libipsec", FakeNode())
    with pytest.raises(TestbedError, match=r"no ESP data plane for the tunnels: the kernel has no ESP .*modprobe tun"):
        xfrm.resolve("auto", FakeNode("esp"))
    assert xfrm.resolve("auto", FakeNode()) == ("kernel", "auto: the kernel has XFRM interfaces and ESP")
