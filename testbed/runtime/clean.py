"""Remove what a killed run left: processes in its namespaces, FRR instances, its run directory.

Everything is found from the run's state file and FRR instance markers; only processes inside
the run's own namespaces, or verified FRR daemons of its instances, are stopped, by pid.
"""
from __future__ import annotations

import shutil

from testbed.daemons import frr, ipsec
from testbed.runtime import state
from testbed.system.procs import cmdline, pids_in_netns, stop


def clean_run(run: str) -> list[str]:
    """Clean one run; returns a line per thing removed."""
    done = []
    st = state.read(run) or {}
    owner = st.get("owner_pid")
    if owner and "testbed" in cmdline(owner):
        stop([owner], timeout=10.0)  # a live owner cleans up after itself on SIGTERM
        done.append(f"stopped testbed process {owner}")
    inodes = set(st.get("netns_inodes", []))
    for d in frr.leftover_instances(run):
        frr.reap_instance(d)
        done.append(f"stopped FRR instance {d.name}")
    charons = ipsec.clean(state.work_dir(run))
    if charons:
        done.append(f"stopped {len(charons)} charon process(es)")
    left = pids_in_netns(inodes) if inodes else []
    if left:
        stop(left)
        done.append(f"stopped {len(left)} process(es) in the run's namespaces")
    d = state.run_dir(run)
    if d.exists():
        shutil.rmtree(d, ignore_errors=True)
        done.append(f"removed {d}")
    fd = state.lock(run)  # free now that the owner is gone: drop the lock file too
    if fd is not None:
        state.unlock(run, fd)
    for root in (state.ROOT, state.WORK_ROOT):
        try:
            root.rmdir()  # only when no other run is left
        except OSError:
            pass
    return done


def clean_all() -> list[str]:
    """Clean every run whose owner is gone; a run that is still up is left alone (and named)."""
    runs = set(state.runs())
    if state.WORK_ROOT.is_dir():
        runs |= {d.name for d in state.WORK_ROOT.iterdir() if d.is_dir()}
    runs |= {(d / frr.MARKER).read_text().strip() for d in frr.leftover_instances()}
    done = []
    for run in sorted(runs):
        fd = state.lock(run)
        if fd is None:
            done.append(f"left run {run!r} alone: it is up (stop it with 'testbed down --name {run}')")
            continue
        state.unlock(run, fd)
        done += clean_run(run)
    return done
