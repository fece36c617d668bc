"""The health of a long run, for ``testbed soak``: what its daemons hold, what its namespaces
hold, and the two ways a healthy run goes wrong over time.

- a **leak**: a quantity that only grows, block after block (daemon RSS or open fds,
  processes left in the run's namespaces, nft tables, state files);
- a **flap**: a BFD session or BGP adjacency going down outside a fault window, i.e. before
  the fault was injected or after the network was back at its baseline (plus a settle time).

``sample`` reads a live network; the rest is pure and works on what ``sample`` returned and on
the trials as they are on disk.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from testbed.daemons.frr import FRR_RUN, instance_name
from testbed.results.trial import Trial
from testbed.runtime import state
from testbed.system import nft
from testbed.system.procs import alive, netns_inode, open_fds, pids_in_netns, rss_mib

if TYPE_CHECKING:
    from testbed.runtime.net import Network

FLAP_KINDS = {("bfd", "bfd-down"), ("bgp", "adj-down")}
COUNTS = ("processes", "nft_tables", "files")  # the run's own, beside its daemons'


# --- a sample of a live run -----------------------------------------------------------------
def daemons(net: "Network") -> dict[str, int]:
    """Every FRR daemon and charon of the run, as ``node/daemon`` -> pid."""
    found = {f"{node}/{d}": pid for node, r in net.frr.items() for d, pid in r.daemon_pids().items()}
    for c in net.tunnels.started() if net.tunnels else []:
        if c.pid:
            found[f"{c.node.name}/charon:{c.spec.name}"] = c.pid
    return found


def _files(run: str, routers: Sequence[str]) -> int:
    roots = [state.run_dir(run), state.work_dir(run), *(FRR_RUN / instance_name(run, r) for r in routers)]
    return sum(1 for root in roots if root.is_dir() for p in root.rglob("*") if not p.is_dir())


def sample(net: "Network") -> dict[str, Any]:
    """RSS (MiB) and open fds of every daemon; the run's namespaces, the processes inside them,
    the nft tables in them and the files under its state directories."""
    shells = [pid for pid in net.pids.values() if alive(pid)]
    inodes = {i for pid in shells if (i := netns_inode(pid))}
    procs: dict[str, dict[str, float]] = {}
    for name, pid in daemons(net).items():
        try:
            procs[name] = {"rss_mib": round(rss_mib(pid), 2), "fds": open_fds(pid)}
        except OSError:  # gone between its pid file and /proc: a dead daemon shows as missing
            continue
    return {"daemons": procs, "namespaces": len(inodes), "processes": len(pids_in_netns(inodes)),
            "nft_tables": sum(len(nft.tables(pid)) for pid in shells),
            "files": _files(net.run, list(net.frr))}


# --- leaks ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Thresholds:
    rss_pct: float = 20.0     # daemon RSS growth over the window, in % of where it started
    fds: int = 10             # daemon open-fd growth over the window
    count: int = 1            # growth of the run's processes, nft tables or files
    blocks: int = 3           # the window: growth in every one of this many blocks in a row


def growth(series: Sequence[float], blocks: int) -> float | None:
    """How much the last ``blocks`` steps of ``series`` grew, if each of them grew (a leak
    grows all the time; a one-off allocation grows once and stays); None otherwise, or when
    the series is shorter."""
    if len(series) < blocks + 1:
        return None
    tail = list(series[-(blocks + 1):])
    if any(b <= a for a, b in zip(tail, tail[1:])):
        return None
    return tail[-1] - tail[0]


def leaks(samples: Sequence[dict[str, Any]], th: Thresholds) -> list[str]:
    """What grew beyond its threshold over the last ``th.blocks`` blocks of ``samples`` (oldest
    first, all of one network: a resumed soak starts a new series)."""
    found = []
    names = sorted({n for s in samples for n in s["daemons"]})
    for name in names:
        if not all(name in s["daemons"] for s in samples[-(th.blocks + 1):]):
            continue  # restarted or gone: not the same process over the window
        rss = [s["daemons"][name]["rss_mib"] for s in samples]
        g = growth(rss, th.blocks)
        start = rss[-(th.blocks + 1)] if len(rss) > th.blocks else 0
        if g is not None and start and g / start * 100 >= th.rss_pct:
            found.append(f"{name} RSS grew {g / start * 100:.0f} % over {th.blocks} blocks "
                         f"({start:.1f} -> {rss[-1]:.1f} MiB, threshold {th.rss_pct:g} %)")
        fds = [s["daemons"][name]["fds"] for s in samples]
        g = growth(fds, th.blocks)
        if g is not None and g >= th.fds:
            found.append(f"{name} open fds grew by {g:.0f} over {th.blocks} blocks "
                         f"({fds[-(th.blocks + 1)]} -> {fds[-1]}, threshold {th.fds})")
    for key in COUNTS:
        series = [s[key] for s in samples]
        g = growth(series, th.blocks)
        if g is not None and g >= th.count:
            found.append(f"the run's {key.replace('_', ' ')} grew by {g:.0f} over {th.blocks} blocks "
                         f"({series[-(th.blocks + 1)]} -> {series[-1]}, threshold {th.count})")
    return found


# --- flaps ----------------------------------------------------------------------------------
def flaps(trial: Trial, settle_s: float) -> list[str]:
    """BFD sessions and BGP adjacencies going down outside the trial's fault window: from the
    fault's injection to ``settle_s`` after the network was back at its baseline."""
    if trial.inject_ns is None or trial.restore_ns is None:
        return []
    back_ms = trial.restored_ms if trial.restored_ms is not None else 0.0
    end = trial.restore_ns + int((back_ms / 1e3 + settle_s) * 1e9)
    out = []
    for e in trial.events:
        if (e.source, e.kind) in FLAP_KINDS and not trial.inject_ns <= e.t_ns <= end:
            when = (f"{(trial.inject_ns - e.t_ns) / 1e6:.0f} ms before the fault" if e.t_ns < trial.inject_ns
                    else f"{(e.t_ns - end) / 1e6:.0f} ms after the fault window")
            peer = e.detail.get("peer") or e.detail.get("src") or "?"
            out.append(f"trial {trial.index}: {e.node} {e.kind} (peer {peer}, {e.detail.get('via', '?')}) {when}")
    return out


# --- per block ------------------------------------------------------------------------------
def p50(values: Sequence[float]) -> float | None:
    v = sorted(values)
    if not v:
        return None
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def daemon_growth(samples: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per daemon, RSS (MiB) and fds at the first and last sample of a series, and the change."""
    out: dict[str, dict[str, float]] = {}
    if not samples:
        return out
    first, last = samples[0]["daemons"], samples[-1]["daemons"]
    for name in sorted(set(first) & set(last)):
        out[name] = {"rss_mib": last[name]["rss_mib"], "rss_growth_mib": round(last[name]["rss_mib"] - first[name]["rss_mib"], 2),
                     "fds": last[name]["fds"], "fds_growth": last[name]["fds"] - first[name]["fds"]}
    return out


def line(block: dict[str, Any], first_p50: float | None) -> str:
    """One health line: the block's trials, failures, p50 and its drift, daemons, counts, flaps."""
    h = block["health"]
    p = block["p50_ms"]
    drift = f" (drift {p - first_p50:+.0f} ms)" if p is not None and first_p50 is not None else ""
    p50_text = "-" if p is None else f"{p:.0f} ms"
    if h is None:  # the block ended in a soak that was killed before it could look
        state_text = "not sampled (the soak stopped as the block ended)"
    else:
        rss = [d["rss_mib"] for d in h["daemons"].values()]
        fds = [d["fds"] for d in h["daemons"].values()]
        daemons_text = (f"{len(rss)} daemons RSS {min(rss):.1f}-{max(rss):.1f} MiB, fds {min(fds)}-{max(fds)}"
                        if rss else "no daemons")
        state_text = (f"{daemons_text}; {h['namespaces']} namespaces, {h['processes']} processes, "
                      f"{h['nft_tables']} nft tables, {h['files']} files")
    return (f"health after trial {block['last_trial']} (block {block['block']}): "
            f"{block['failures']}/{block['trials']} failed, p50 {p50_text}{drift}; {state_text}; {block['flaps']} flaps")
