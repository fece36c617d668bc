"""Kernel ESP for the tunnels: whether a node's kernel can run it, and which data plane a run uses.

Two data planes carry a tunnel's ESP (docs/azure.md#ipsec-data-plane):

- ``kernel``: the kernel's XFRM, route-based: an XFRM interface per tunnel end (``ipsecN``, an
  ``if_id`` per tunnel), charon's SAs and 0.0.0.0/0 policies bound to that ``if_id``, so only
  what FRR routes into the interface is encrypted. Needs XFRM interfaces and the ESP transforms.
- ``libipsec``: strongSwan's userspace ESP (kernel-libipsec) over a TUN device of the same name,
  which runs on kernels without either (such as this project's development machine).

``auto`` takes the kernel's where a node's kernel has both, found by trying them on a throwaway
interface and SA in that node.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Protocol

from testbed.errors import TestbedError

DATAPLANES = ("auto", "kernel", "libipsec")

# A throwaway interface and SA for the check: documentation addresses, an if_id no tunnel uses.
_PROBE_IF, _PROBE_ID = "tbxfrmprobe", 0xFFFF0
_PROBE_SA = ["src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x100"]
_PROBE_KEY = "0x" + "11" * 20  # AES-128-GCM: a 16-byte key and a 4-byte salt
# kernel-libipsec's device: without it the plugin does not load and charon, configured for it,
# crashes. The nodes share the machine's /dev; udev makes the node on most systems, loading
# the tun module makes it where none runs (a bare guest).
TUN_DEVICE = Path("/dev/net/tun")
_NO_TUN = f"{TUN_DEVICE} is missing (no tun module loaded)"


class NodeLike(Protocol):
    name: str

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen: ...


def run_in(node: NodeLike, argv: list[str]) -> tuple[int, str]:
    """Run ``argv`` inside ``node``: its exit status and output (stdout and stderr)."""
    proc = node.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=10)
    return proc.returncode, out.decode(errors="replace").strip()


def kernel_esp_missing(node: NodeLike) -> str | None:
    """None if the kernel of ``node`` has XFRM interfaces and ESP, else what it lacks (a phrase)."""
    rc, out = run_in(node, ["ip", "link", "add", _PROBE_IF, "type", "xfrm", "if_id", str(_PROBE_ID)])
    if rc:
        return f"the kernel has no XFRM interfaces (ip link add type xfrm: {out or rc})"
    run_in(node, ["ip", "link", "del", _PROBE_IF])
    rc, out = run_in(node, ["ip", "xfrm", "state", "add", *_PROBE_SA, "mode", "tunnel",
                            "aead", "rfc4106(gcm(aes))", _PROBE_KEY, "128", "if_id", str(_PROBE_ID)])
    if rc:
        return f"the kernel has no ESP (ip xfrm state add: {out or rc})"
    run_in(node, ["ip", "xfrm", "state", "deleteall", *_PROBE_SA[:4]])
    return None


def resolve(wanted: str, node: NodeLike) -> tuple[str, str]:
    """The data plane a run uses for ``vpn.dataplane=wanted``, and why (for the run's state)."""
    if wanted == "libipsec":
        if not TUN_DEVICE.exists():
            raise TestbedError(f"vpn.dataplane=libipsec needs a TUN device, but {_NO_TUN}: run 'modprobe tun' "
                               "as root, or use --set vpn.dataplane=auto on a kernel with XFRM interfaces.")
        return "libipsec", "vpn.dataplane=libipsec"
    missing = kernel_esp_missing(node)
    if wanted == "kernel":
        if missing:
            raise TestbedError(f"vpn.dataplane=kernel, but {missing}: run with --set vpn.dataplane=libipsec "
                               "(userspace ESP) or auto on this kernel.")
        return "kernel", "vpn.dataplane=kernel"
    if missing:
        if not TUN_DEVICE.exists():
            raise TestbedError(f"no ESP data plane for the tunnels: {missing}, and userspace ESP needs a TUN "
                               f"device, but {_NO_TUN}: run 'modprobe tun' as root.")
        return "libipsec", f"auto: {missing}"
    return "kernel", "auto: the kernel has XFRM interfaces and ESP"


def add_interface(node: NodeLike, name: str, if_id: int) -> None:
    """The XFRM interface of one tunnel end; one left by a killed charon is replaced."""
    run_in(node, ["ip", "link", "del", name])
    rc, out = run_in(node, ["ip", "link", "add", name, "type", "xfrm", "if_id", str(if_id)])
    if rc:
        raise TestbedError(f"creating XFRM interface {name} in {node.name} failed ({out}): "
                           "run with --set vpn.dataplane=libipsec on this kernel.")


def drop_tunnel_state(node: NodeLike, name: str, local: str, remote: str) -> None:
    """What a crashed IKE daemon's kernel SAs leave: the SAs between ``local`` and ``remote``
    and the interface ``name`` go, as the TUN device and userspace SAs go with a killed
    charon under libipsec (its policies are replaced by the next charon's)."""
    for src, dst in ((local, remote), (remote, local)):
        run_in(node, ["ip", "xfrm", "state", "deleteall", "src", src, "dst", dst])
    run_in(node, ["ip", "link", "del", name])
