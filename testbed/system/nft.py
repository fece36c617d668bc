"""nftables inside a node, through libnftables called in this process (the one binding).

Each node gets one libnftables context, made with the calling thread inside the node's network
namespace (its netlink socket stays there) and kept until ``forget``: a fresh context per call
doubles the transaction's cost (1.2 against 0.6 ms measured), and freeing one after a batch that
deleted something waits for nf_tables' deferred clean-up (an RCU grace period, 7-20 ms on
kernel 6.18). ``apply`` returns the instant libnftables' call returned, right after the kernel
committed the batch atomically. An ``nft`` process would add its start-up (10-25 ms on a busy
machine) between the stamps around a fault.
"""
from __future__ import annotations

import ctypes
import os
import threading
from functools import cache

from testbed.errors import TestbedError
from testbed.model.events import now_ns
from testbed.system.kernel import in_netns

#: the prefix of every fault's table (``tbfault-<id>``, one per fault instance); ``testbed
#: clean`` removes whatever table with it a run left
FAULT_TABLES = "tbfault"

_contexts: dict[tuple[int, int], int] = {}   # (pid, netns inode) -> nft_ctx pointer
_lock = threading.Lock()                      # a context serves one call at a time


@cache
def _libnftables() -> ctypes.CDLL:
    lib = ctypes.CDLL("libnftables.so.1")
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    for f in (lib.nft_ctx_buffer_output, lib.nft_ctx_buffer_error, lib.nft_ctx_free):
        f.argtypes = [ctypes.c_void_p]
    for f in (lib.nft_ctx_get_error_buffer, lib.nft_ctx_get_output_buffer):
        f.argtypes = [ctypes.c_void_p]
        f.restype = ctypes.c_char_p
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    return lib


def _key(pid: int) -> tuple[int, int]:
    try:
        return pid, os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError as e:
        raise TestbedError(f"process {pid} is gone, so nftables cannot reach its node: is the run still up?") from e


def _context(lib: ctypes.CDLL, key: tuple[int, int]) -> int:
    if key not in _contexts:
        with in_netns(key[0]):
            ctx = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        _contexts[key] = ctx
    return _contexts[key]


def apply(pid: int, script: str) -> int:
    """Apply ``script`` as one atomic transaction in the network namespace of process ``pid``;
    the instant (testbed clock, ns) the kernel had committed it."""
    return _run(pid, script)[0]


def _run(pid: int, script: str) -> tuple[int, str]:
    """``script`` applied in ``pid``'s namespace: the commit instant and what nft printed."""
    lib = _libnftables()
    key = _key(pid)
    with _lock:
        ctx = _context(lib, key)
        rc = lib.nft_run_cmd_from_buffer(ctx, script.encode())
        committed = now_ns()
        err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace") if rc else ""
        out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode(errors="replace")
    if rc != 0:
        raise TestbedError(f"nftables refused the rules ({' '.join(err.split())[:200]}): "
                           "this is a testbed bug, please report it.")
    return committed, out


def tables(pid: int) -> list[str]:
    """The inet tables in ``pid``'s network namespace."""
    return [line.split()[2] for line in _run(pid, "list tables inet\n")[1].splitlines()
            if line.startswith("table inet ")]


def drop_tables(pid: int, prefix: str) -> list[str]:
    """Delete every inet table whose name starts with ``prefix`` in ``pid``'s namespace; their names."""
    names = [t for t in tables(pid) if t.startswith(prefix)]
    if names:
        apply(pid, "".join(f"delete table inet {t}\n" for t in names))
    return names


def forget(pids: list[int]) -> None:
    """Free the contexts of nodes that are going away (their shells' ``pids``)."""
    lib = _libnftables() if _contexts else None
    with _lock:
        for key in [k for k in _contexts if k[0] in pids]:
            lib.nft_ctx_free(_contexts.pop(key))
