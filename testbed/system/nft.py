"""nftables inside a node, through libnftables called in this process (the one binding).

The calling thread enters the node's network namespace and hands the script to libnftables:
the call returns right after the kernel committed the batch atomically. An ``nft`` process would
add its start-up (10-25 ms on a busy machine) between the stamps around a fault.
"""
from __future__ import annotations

import ctypes
from functools import cache

from testbed.errors import TestbedError
from testbed.system.kernel import in_netns


@cache
def _libnftables() -> ctypes.CDLL:
    lib = ctypes.CDLL("libnftables.so.1")
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    for f in (lib.nft_ctx_buffer_output, lib.nft_ctx_buffer_error, lib.nft_ctx_free):
        f.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    return lib


def apply(pid: int, script: str) -> None:
    """Apply ``script`` as one atomic transaction in the network namespace of process ``pid``."""
    lib = _libnftables()
    with in_netns(pid):
        ctx = lib.nft_ctx_new(0)
        try:
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            rc = lib.nft_run_cmd_from_buffer(ctx, script.encode())
            err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace") if rc else ""
        finally:
            lib.nft_ctx_free(ctx)
    if rc != 0:
        raise TestbedError(f"nftables refused the rules ({' '.join(err.split())[:200]}): "
                           "this is a testbed bug, please report it.")
