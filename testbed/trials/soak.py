"""A soak: one scenario for many trials, unattended, through the runner's own trial loop.

Every ``every`` trials a block ends: the run's health is sampled (``testbed.trials.health``),
the block's p50 outage and failures are added, and a health line is printed. The soak stops
with its reason when a quantity leaked (grew in each of the last few blocks beyond a threshold)
or a session flapped outside a fault window. ``soak.json`` in the run directory holds the
soak's options, every health sample and block, the flaps and the verdict; it is rewritten
after every trial, so a soak killed at any moment goes on with ``--resume DIR``, losing at
most the trial that was in flight (``RunWriter.reopen``).

Each resumption is a new *segment*: a new network, new daemons, so leaks are judged within a
segment only.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from testbed.errors import TestbedError
from testbed.results.trial import Trial
from testbed.trials import health, runner
from testbed.trials.scenario import Scenario, load

FILE = "soak.json"


@dataclass
class SoakOptions:
    every: int = 50                     # trials per block: a health line each
    thresholds: health.Thresholds = field(default_factory=health.Thresholds)
    settle_s: float = 1.0               # after the baseline is back, still inside the fault window
    max_flaps: int = 0                  # flaps tolerated before the soak stops


@dataclass
class Soak:
    """The soak's bookkeeping, on disk in ``soak.json`` after every trial."""

    scenario: str
    options: dict[str, Any]             # what ``soak --resume`` needs to go on: the run's and soak's options
    samples: list[dict[str, Any]] = field(default_factory=list)   # health: {segment, after_trial, health}
    blocks: list[dict[str, Any]] = field(default_factory=list)
    flaps: list[dict[str, Any]] = field(default_factory=list)     # {trial, what}
    trial_s: list[float] = field(default_factory=list)            # trial to trial, within a segment
    checked: int = 0                    # the last trial whose flaps were looked for
    segment: int = 0
    stopped: str | None = None
    held: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Soak":
        return cls(**d)

    def soak_options(self) -> SoakOptions:
        o = self.options["soak"]
        return SoakOptions(o["every"], health.Thresholds(**o["thresholds"]), o["settle_s"], o["max_flaps"])

    def segment_samples(self) -> list[dict[str, Any]]:
        return [s["health"] for s in self.samples if s["segment"] == self.segment]


def save(run_dir: Path, soak: Soak) -> None:
    tmp = run_dir / (FILE + ".tmp")
    tmp.write_text(json.dumps(soak.to_dict(), indent=1))
    os.replace(tmp, run_dir / FILE)


def read(run_dir: Path) -> Soak:
    try:
        return Soak.from_dict(json.loads((Path(run_dir) / FILE).read_text()))
    except (OSError, json.JSONDecodeError, TypeError) as e:
        raise TestbedError(f"{run_dir} holds no readable {FILE} ({e}): give --resume the directory a soak "
                           "printed when it started.") from e


def block_figures(trials: list[Trial], block: int, every: int) -> dict[str, Any]:
    """The trials of block ``block`` (1-based): how many, how many failed, their p50 outage."""
    mine = [t for t in trials if (block - 1) * every < t.index <= block * every]
    return {"block": block, "first_trial": (block - 1) * every + 1, "last_trial": block * every,
            "trials": len(mine), "failures": sum(1 for t in mine if not t.ok),
            "p50_ms": health.p50([t.outage_ms for t in mine])}


class Watch:
    """The runner's ``on_trial`` for a soak: flaps after each trial, health at each block end,
    ``soak.json`` rewritten every time; returns the reason to stop, if any."""

    def __init__(self, soak: Soak, say: Callable[[str], None]) -> None:
        self.soak = soak
        self.opts = soak.soak_options()
        self.say = say
        self.last: float | None = None

    def __call__(self, ctx: runner.Context, trial: Trial) -> str | None:
        soak, o = self.soak, self.opts
        now = time.monotonic()
        if self.last is not None:
            soak.trial_s.append(round(now - self.last, 2))
        self.last = now
        run_dir = ctx.writer.dir
        if not soak.segment_samples():  # the segment's first sample: where growth counts from
            soak.samples.append({"segment": soak.segment, "after_trial": trial.index, "health": health.sample(ctx.net)})
            self.say(f"soak: results in {run_dir} (if it stops, go on with 'testbed soak --resume {run_dir}')")
        # a soak killed between a trial's file and this call left that trial (and its block) unseen
        for t in [t for t in ctx.writer.trials if t.index > soak.checked]:
            soak.flaps += [{"trial": t.index, "what": what} for what in health.flaps(t, o.settle_s)]
            soak.checked = t.index
        reason = None
        for b in range(len(soak.blocks) + 1, trial.index // o.every + 1):
            block = block_figures(ctx.writer.trials, b, o.every)
            live = block["last_trial"] == trial.index
            block["health"] = health.sample(ctx.net) if live else None  # a past block's network is gone
            block["flaps"] = sum(1 for f in soak.flaps if block["first_trial"] <= f["trial"] <= block["last_trial"])
            soak.blocks.append(block)
            self.say(health.line(block, soak.blocks[0]["p50_ms"]))
            if live:
                soak.samples.append({"segment": soak.segment, "after_trial": trial.index, "health": block["health"]})
                leaked = health.leaks(soak.segment_samples(), o.thresholds)
                if leaked:
                    reason = "leak: " + "; ".join(leaked)
        if len(soak.flaps) > o.max_flaps:
            reason = f"flap: {soak.flaps[-1]['what']}" + (f" ({len(soak.flaps)} flaps, --max-flaps {o.max_flaps})"
                                                 if o.max_flaps else "")
        soak.stopped = reason
        save(run_dir, soak)
        return reason


def start(scenario: Scenario, run_opts: runner.Options, soak_opts: SoakOptions, argv_options: dict[str, Any],
          say: Callable[[str], None]) -> tuple[runner.RunOutcome, Soak]:
    soak = Soak(scenario.name, {**argv_options, "soak": {**asdict(soak_opts), "thresholds": asdict(soak_opts.thresholds)}})
    return _go(scenario, run_opts, soak, say)


def resume(run_dir: Path, run_opts: Callable[[dict[str, Any]], runner.Options],
           say: Callable[[str], None]) -> tuple[runner.RunOutcome, Soak]:
    """Go on with the soak in ``run_dir``: its options from ``soak.json`` (``run_opts`` turns them
    into the runner's), a new segment, the remaining trials."""
    soak = read(run_dir)
    done = len(list((Path(run_dir) / "trials").glob("*.json")))
    if done >= soak.options["trials"]:
        raise TestbedError(f"the soak in {run_dir} already ran all its {soak.options['trials']} trials: "
                           "start a new one with 'testbed soak SCENARIO --trials N'.")
    soak.segment += 1
    soak.stopped = soak.held = None
    opts = run_opts(soak.options)
    opts.resume = Path(run_dir)
    return _go(load(soak.scenario), opts, soak, say)


def _go(scenario: Scenario, opts: runner.Options, soak: Soak, say: Callable[[str], None]) -> tuple[runner.RunOutcome, Soak]:
    out = runner.run(scenario, opts, on_trial=Watch(soak, say))
    planned = out.summary.get("trials_planned", len(out.trials))
    soak.held = soak.stopped is None and len(out.trials) >= planned
    save(out.dir, soak)
    return out, soak


def summary_lines(soak: Soak, out: runner.RunOutcome) -> list[str]:
    """The soak's closing lines: whether it held, the trials, daemons' growth, flaps, p50 per block."""
    failed = sum(1 for t in out.trials if not t.ok)
    planned = out.summary.get("trials_planned", len(out.trials))
    verdict = ("HELD" if soak.held else "DID NOT HOLD") + (f": {soak.stopped}" if soak.stopped else "")
    if not soak.held and not soak.stopped:
        verdict += f": {len(out.trials)} of {planned} trials ran"
    lines = [f"soak {verdict}", f"trials: {len(out.trials)} of {planned} done, {failed} failed"]
    if soak.trial_s:
        per = health.p50(soak.trial_s) or 0.0
        lines.append(f"time per trial: p50 {per:.1f} s (1,000 trials: about {per * 1000 / 3600:.1f} h)")
    growth = health.daemon_growth(soak.segment_samples())
    for name, g in growth.items():
        lines.append(f"  {name}: RSS {g['rss_mib']:.1f} MiB ({g['rss_growth_mib']:+.1f}), fds {g['fds']} ({g['fds_growth']:+d})")
    lines.append(f"flaps outside fault windows: {len(soak.flaps)}")
    lines += [f"  {f['what']}" for f in soak.flaps[:10]]
    if soak.blocks:
        lines.append("p50 per block: " + ", ".join(f"{b['first_trial']}-{b['last_trial']}: {_ms(b['p50_ms'])}"
                                                   for b in soak.blocks))
    return lines


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} ms"
