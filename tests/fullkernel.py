"""What the full-kernel tests share (tests/live/test_fullkernel_*_live.py): whether this kernel
has XFRM interfaces and ESP, or netem, and how much timing to expect of it.

The development machine's kernel has none of these, so those tests skip there; ``scripts/vm.sh
test`` runs them in a Debian 12 guest. Under QEMU's TCG (software emulation, ten times slower or
more: ``TESTBED_TIMING=relaxed``, which vm.sh sets) timing figures mean nothing: BFD runs at
1 s, bring-ups get longer to converge, and a scenario's verdict counts without its timing
windows (each waived part printed). On a full-speed kernel (a Vagrant VM) verdicts count whole.
Each module brings up one network at a time: under TCG two at once starve each other.
"""
from __future__ import annotations

import os
import subprocess

import pytest

RELAXED = os.environ.get("TESTBED_TIMING") == "relaxed"
SLOW = {"bfd.interval_ms": 1000, "converge.timeout_s": 300} if RELAXED else {}
RUN = f"fk{os.getpid() % 10000}"


def _kernel_has(argv: list[str]) -> bool:
    """Whether the command works in a fresh network namespace of this kernel."""
    if os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-n", "sh", "-c", " ".join(argv)], capture_output=True).returncode == 0


XFRM = _kernel_has(["ip link add x type xfrm if_id 1 &&", "ip xfrm state add src 192.0.2.1 dst 192.0.2.2",
                    "proto esp spi 0x100 mode tunnel aead 'rfc4106(gcm(aes))'", "0x" + "11" * 20, "128"])
NETEM = _kernel_has(["tc qdisc add dev lo root netem delay 1ms"])
needs_xfrm = pytest.mark.skipif(not XFRM, reason="this kernel has no XFRM interfaces or ESP (scripts/vm.sh test runs a guest that has)")
needs_netem = pytest.mark.skipif(not NETEM, reason="this kernel has no netem (scripts/vm.sh test runs a guest that has)")
