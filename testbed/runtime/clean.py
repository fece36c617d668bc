"""Remove what a killed run left: fault tables, processes in its namespaces, FRR instances, its
run directory.

Everything is found from the run's state file and FRR instance markers; only processes inside
the run's own namespaces, or verified FRR daemons of its instances, are stopped, by pid.
"""
from __future__ import annotations

import os
import shutil

from testbed.daemons import frr, ipsec
from testbed.errors import TestbedError
from testbed.runtime import state
from testbed.system import nft
from testbed.system.procs import alive, cmdline, netns_inode, pids_in_netns, stop


def clean_run(run: str) -> list[str]:
    """Clean one run; returns a line per thing removed."""
    done = []
    st = state.read(run) or {}
    # A namespace of the run whose processes all died is gone, and its inode number may be
    # another run's namespace now: those are left out, and what is inside is found before
    # anything is stopped (stopping frees namespaces, whose numbers the kernel reuses at once).
    inodes = set(st.get("netns_inodes", [])) - other_runs_inodes(run)
    left = pids_in_netns(inodes) if inodes else []
    owner = st.get("owner_pid")
    if owner and "testbed" in cmdline(owner):
        stop([owner], timeout=10.0)  # a live owner cleans up after itself on SIGTERM
        done.append(f"stopped testbed process {owner}")
    done += drop_fault_tables([info["pid"] for info in st.get("nodes", {}).values()
                               if alive(info["pid"]) and netns_inode(info["pid"]) in inodes])
    for d in frr.leftover_instances(run):
        frr.reap_instance(d)
        done.append(f"stopped FRR instance {d.name}")
    charons = ipsec.clean(state.work_dir(run))
    if charons:
        done.append(f"stopped {len(charons)} charon process(es)")
    left = [p for p in left if alive(p)]
    if left:
        stop(left)
        done.append(f"stopped {len(left)} process(es) in the run's namespaces")
    d = state.run_dir(run)
    if d.exists():
        shutil.rmtree(d, ignore_errors=True)
        done.append(f"removed {d}")
    for _, pid, scratch in state.scratch_dirs(run):
        if not alive(pid):
            shutil.rmtree(scratch, ignore_errors=True)
            done.append(f"removed {scratch}")
    fd = state.lock(run)  # free now that the owner is gone: drop the lock file too
    if fd is not None:
        state.unlock(run, fd)
    for root in (state.ROOT, state.WORK_ROOT):
        try:
            root.rmdir()  # only when no other run is left
        except OSError:
            pass
    return done


def other_runs_inodes(run: str) -> set[int]:
    """The namespaces other runs' state files name."""
    return {i for r in state.runs() if r != run for i in (state.read(r) or {}).get("netns_inodes", [])}


def drop_fault_tables(pids: list[int]) -> list[str]:
    """Delete every fault table (``tbfault-*``) in the namespaces of ``pids``: a table goes with
    its node's namespace, but one that outlives its processes, or lands on the host by a bug,
    would keep dropping traffic."""
    done = []
    for pid in pids:
        try:
            names = nft.drop_tables(pid, nft.FAULT_TABLES)
        except TestbedError:  # the process went away meanwhile: its namespace, and table, with it
            continue
        finally:
            nft.forget([pid])
        done += [f"removed nftables table {name} (process {pid}'s namespace)" for name in names]
    return done


def clean_all() -> list[str]:
    """Clean every run whose owner is gone, and fault tables left on the host; a run that is
    still up is left alone (and named)."""
    runs = set(state.runs())
    if state.WORK_ROOT.is_dir():
        runs |= {d.name for d in state.WORK_ROOT.iterdir() if d.is_dir()}
    runs |= {(d / frr.MARKER).read_text().strip() for d in frr.leftover_instances()}
    runs |= {run for run, _, _ in state.scratch_dirs()}
    done = []
    for run in sorted(runs):
        done += clean_left(run)
    return done + drop_fault_tables([os.getpid()])


def clean_left(run: str) -> list[str]:
    """Clean what run ``run`` left, unless it is still up (then it is named and left alone)."""
    fd = state.lock(run)
    if fd is None:
        return [f"left run {run!r} alone: it is up (stop it with 'testbed down --name {run}')"]
    state.unlock(run, fd)
    return clean_run(run)
