"""Check the machine before touching it: root, and the system packages a topology needs."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from testbed.errors import TestbedError

# what must exist -> the Debian/Ubuntu package that brings it
BASE = {
    "/usr/lib/frr/zebra": "frr", "/usr/lib/frr/bgpd": "frr", "/usr/lib/frr/bfdd": "frr",
    "/usr/lib/frr/staticd": "frr", "vtysh": "frr", "mnexec": "mininet", "nft": "nftables",
    "ping": "iputils-ping", "ip": "iproute2",
}
VPN = {
    "/usr/lib/ipsec/charon": "strongswan-charon", "swanctl": "strongswan-swanctl",
    "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so": "libcharon-extra-plugins",
}


def _present(thing: str) -> bool:
    return Path(thing).exists() if thing.startswith("/") else shutil.which(thing) is not None


def missing_packages(vpn: bool = False) -> list[str]:
    wanted = {**BASE, **(VPN if vpn else {})}
    return sorted({pkg for thing, pkg in wanted.items() if not _present(thing)})


def require_root() -> None:
    if os.geteuid() != 0:
        raise TestbedError("testbed needs root (it creates network namespaces and runs FRR): run it with sudo.")


def check(vpn: bool = False) -> None:
    require_root()
    missing = missing_packages(vpn)
    if missing:
        raise TestbedError(
            f"missing system package(s) {', '.join(missing)}: run 'scripts/setup.sh' as root to install them."
        )
