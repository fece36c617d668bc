"""Pictures of a run, drawn from its result files (matplotlib, Agg: no display needed).

* :func:`timeline` -- one trial: probe packets/s on each path over time (50 ms moving average),
  one panel per direction, the fault and the control-plane events as labelled vertical lines,
  the longest outage (red) and failback outage (green) shaded; a right-hand column zooms on
  the failover at 10 ms resolution.
* :func:`ecdf` -- the outage (and failback outage) over the trials.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from testbed.model.events import Event  # noqa: E402
from testbed.results.trial import DirectionFigures, Trial, stats  # noqa: E402

PATH_COLOURS = {"er-primary": "tab:blue", "er-secondary": "tab:orange", "vpn-tunnel0": "tab:green",
                "vpn-tunnel1": "tab:purple", "unmarked": "tab:gray"}
OTHER_COLOURS = ("tab:red", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "black")


def path_colours(paths: Iterable[str]) -> dict[str, str]:
    """A colour per path: the reference networks' paths keep theirs, any other label (a user's
    topology declares its own) takes the next of the other colours, in name order."""
    others = sorted(p for p in set(paths) if p not in PATH_COLOURS)
    return {p: PATH_COLOURS.get(p) or OTHER_COLOURS[others.index(p) % len(OTHER_COLOURS)] for p in set(paths)}


# (source, kind fragment) -> colour, line style, legend name; the first match wins
EVENT_STYLES = (
    (("fault", "issued"), ("red", ":", "fault issued")),
    (("fault", "inject"), ("red", "-", "fault")),
    (("fault", "restore"), ("green", "-", "restore")),
    (("fault", "flap-down"), ("red", "--", "flap down")),
    (("fault", "flap-up"), ("green", "--", "flap up")),
    (("fault", ""), ("darkorange", "--", "fault step")),       # a standby's takeover, a rekey
    (("bfd", ""), ("purple", ":", "BFD")),
    (("bgp", ""), ("saddlebrown", ":", "BGP")),
    (("fib", ""), ("dimgray", ":", "FIB")),
    (("poll", ""), ("silver", ":", "FIB (poll)")),
)
SLOW_FAULT_NS = 20_000_000  # a fault that took longer to apply also gets a line where it began
MIN_LABEL_GAP = 0.04  # of the axis width: closer event labels are merged


def event_style(e: Event) -> tuple[str, str, str] | None:
    for (source, kind), style in EVENT_STYLES:
        if e.source == source and kind in e.kind:
            return style
    return None


def marked_events(events: Iterable[Event], fib_seen: bool) -> list[Event]:
    """The events worth a line: faults, BFD/BGP state, one FIB line per node and change burst
    (the poll's only when no FIB watcher ran)."""
    events = list(events)
    events += [Event(e.detail["issued_ns"], "fault", e.node, "issued") for e in events  # applied slowly
               if e.source == "fault" and e.kind == "inject"
               and e.t_ns - e.detail.get("issued_ns", e.t_ns) > SLOW_FAULT_NS]
    out, last = [], {}
    for e in sorted(events, key=lambda e: e.t_ns):
        if event_style(e) is None or (e.source == "poll" and fib_seen):
            continue
        if e.source in ("fib", "poll", "bgp"):
            key = (e.source, e.node)
            if key in last and e.t_ns - last[key] < 200_000_000:
                continue
            last[key] = e.t_ns
        out.append(e)
    return out


def event_label(e: Event) -> str:
    if e.source == "fault":
        return e.kind
    return f"{e.node} {e.kind}"


def _draw_events(ax, trial: Trial, events: list[Event], lo: float, hi: float, labels: bool) -> None:
    width = hi - lo
    last_x = None
    for e in events:
        x = trial.rel_ms(e.t_ns)
        if x is None or not lo <= x <= hi:
            continue
        colour, style, _ = event_style(e)
        ax.axvline(x, color=colour, linestyle=style, linewidth=1.2 if e.source == "fault" else 0.9)
        if labels and (last_x is None or (x - last_x) / width > MIN_LABEL_GAP):
            ax.text(x, 0.97, event_label(e), transform=ax.get_xaxis_transform(), rotation=90,
                    fontsize=7, color=colour, ha="right", va="top",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1})
            last_x = x


def _smooth(counts: list[int], width: int) -> list[float]:
    """Moving average over ``width`` buckets (a late send wake-up moves a packet into the next
    bucket: unsmoothed, 10 ms buckets show that jitter as spikes)."""
    if width <= 1:
        return [float(n) for n in counts]
    out, acc = [], 0
    for k, n in enumerate(counts):
        acc += n - (counts[k - width] if k >= width else 0)
        out.append(acc / min(k + 1, width))
    return out


def _draw_direction(ax, trial: Trial, d: DirectionFigures | None, series: dict[str, list[int]],
                    bucket_ms: float, origin_ms: float, smooth: int) -> None:
    # active-active paths carry equal rates: each line is drawn thinner than the one before,
    # so one that another covers still shows around it
    colours = path_colours(series)
    for layer, path in enumerate(sorted(series)):
        ys = [n * 1000.0 / bucket_ms for n in _smooth(series[path], smooth)]
        xs = [origin_ms + k * bucket_ms for k in range(len(ys))]
        ax.step(xs, ys, where="post", color=colours[path],
                linewidth=max(0.8, 3.2 - 0.8 * layer), label=path)
    if d is None:
        return
    for attr, colour in (("outage_span_ns", "red"), ("restore_span_ns", "green")):
        spans = [s for f in d.flows if (s := getattr(f, attr))]
        if spans:
            s0, s1 = max(spans, key=lambda s: s[1] - s[0])
            ax.axvspan(trial.rel_ms(s0), trial.rel_ms(s1), color=colour, alpha=0.15, linewidth=0)


def fault_window(trial: Trial) -> tuple[float, float]:
    """The failover's time range (ms since the fault was issued): from the fault to the end of
    the longest outage, with a margin either side."""
    spans = [trial.rel_ms(x) for d in trial.directions.values() for f in d.flows if f.outage_span_ns
             for x in f.outage_span_ns]
    lo, hi = min([0.0] + spans), max([150.0] + spans)
    return lo - max(50.0, 0.1 * (hi - lo)), hi + max(50.0, 0.15 * (hi - lo))


def timeline(trial: Trial, path: Path) -> Path | None:
    """The picture of one trial's failover and failback; None when it has no traffic data."""
    tr = trial.traffic
    if not tr or trial.inject_ns is None:
        return None
    bucket = tr["bucket_ms"]
    origin = trial.rel_ms(tr["origin_ns"])
    directions = list(tr["directions"])
    fib_seen = any(e.source == "fib" for e in trial.events)
    events = marked_events(trial.events, fib_seen)
    zoom = fault_window(trial)
    fig, axes = plt.subplots(len(directions), 2, figsize=(15, 3.6 * len(directions) + 1.2),
                             sharey="row", gridspec_kw={"width_ratios": [2.2, 1]}, squeeze=False)
    for row, name in enumerate(directions):
        d = trial.directions.get(name)
        series = tr["directions"][name]
        end = origin + bucket * max((len(v) for v in series.values()), default=0)
        for col, (lo, hi) in enumerate(((origin, end), zoom)):
            ax = axes[row][col]
            _draw_direction(ax, trial, d, series, bucket, origin, smooth=5 if col == 0 else 1)
            _draw_events(ax, trial, events, lo, hi, labels=True)
            ax.set_xlim(lo, hi)
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
            if col == 0:
                figs = (f"outage {d.outage_ms:.0f} ms, failback {d.restore_outage_ms:.0f} ms"
                        if d else "no figures")
                ax.set_title(f"{name}: {figs}", loc="left", fontsize=10)
                ax.set_ylabel("probe packets/s")
            else:
                ax.set_title("zoom on the fault (10 ms buckets)", loc="left", fontsize=10)
            if row == len(directions) - 1:
                ax.set_xlabel("time since the fault was issued (ms)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    used = {event_style(e)[2]: event_style(e) for e in events}
    for name, (colour, style, _) in used.items():
        handles.append(plt.Line2D([], [], color=colour, linestyle=style))
        labels.append(name)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 8), fontsize=9, frameon=False)
    verdict = "pass" if trial.ok else "FAIL"
    fig.suptitle(f"{trial.scenario}, trial {trial.index}: outage {trial.outage_ms:.0f} ms, "
                 f"failback {trial.restore_outage_ms:.0f} ms ({verdict})", fontsize=12)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def ecdf(trials: list[Trial], path: Path, title: str) -> Path | None:
    """Empirical CDF of the outage and of the failback outage over the trials."""
    if not trials:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for attr, colour, name in (("outage_ms", "tab:red", "outage at the fault"),
                               ("restore_outage_ms", "tab:green", "outage at restore (failback)")):
        v = sorted(getattr(t, attr) for t in trials)
        s = stats(v)
        ys = [(k + 1) / len(v) for k in range(len(v))]
        ax.step([v[0]] + v, [0.0] + ys, where="post", color=colour, linewidth=1.6,
                label=f"{name}: p50 {s['p50']:.0f}, p95 {s['p95']:.0f}, max {s['max']:.0f} ms")
        ax.plot(v, ys, "o", color=colour, markersize=3)
    ax.set_xlabel("outage (ms, longest gap of any flow, either direction)")
    ax.set_ylabel("fraction of trials ≤ x")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=9, frameon=False)  # off the curves
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
