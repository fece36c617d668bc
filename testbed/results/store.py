"""The files a run leaves: ``<out>/<scenario>/<UTC time>/``::

    summary.json        parameters, versions, statistics, one entry per trial
    trials.csv          one row per trial
    trials/NNN.json     everything about trial NNN (written the moment it ends)
    trials/NNN.png      its timeline (testbed.results.plots)
    ecdf.png            outage over the trials
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Any, Mapping

from testbed.errors import TestbedError
from testbed.results.trial import Trial, summarize


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


# what ``write_summary`` adds to the run's meta (recomputed, never carried over by ``reopen``)
SUMMARY_KEYS = ("trials_done", "passed", "ok", "stats", "trials", "notes", "load_at_end", "stopped")


class RunWriter:
    """The directory of one run; every trial is on disk the moment it ends."""

    earlier_notes: list[str] = []   # the notes of the run ``reopen`` continues
    lost: list[int] = []            # trials ``reopen`` found in flight (started, never written)

    def __init__(self, root: Path, scenario: str, started_utc: str, meta: Mapping[str, Any]) -> None:
        self.dir = Path(root) / scenario / started_utc
        self.trials_dir = self.dir / "trials"
        self.trials_dir.mkdir(parents=True, exist_ok=False)
        self.meta = {"scenario": scenario, "started_utc": started_utc, **meta}
        self.trials: list[Trial] = []
        self.write_summary()

    @classmethod
    def reopen(cls, run_dir: Path) -> "RunWriter":
        """An earlier run's directory, to go on with: its trials on disk stay, the summary's
        statistics are recomputed as trials are added. A trial that was in flight when the run
        died left only its work directory (no NNN.json): that is removed, and ``lost`` names it."""
        summary = load_summary(run_dir)
        self = cls.__new__(cls)
        self.dir = Path(run_dir)
        self.trials_dir = self.dir / "trials"
        self.meta = {k: v for k, v in summary.items() if k not in SUMMARY_KEYS}
        self.earlier_notes = list(summary.get("notes", []))
        self.trials = sorted((load_trial(p) for p in self.trials_dir.glob("*.json") if p.stem.isdigit()),
                             key=lambda t: t.index)
        done = {t.index for t in self.trials}
        self.lost = sorted(int(d.name) for d in self.trials_dir.iterdir()
                           if d.is_dir() and d.name.isdigit() and int(d.name) not in done)
        for index in self.lost:
            shutil.rmtree(self.trial_path(index, ""), ignore_errors=True)
        return self

    def trial_path(self, index: int, suffix: str) -> Path:
        return self.trials_dir / f"{index:03d}{suffix}"

    def add(self, trial: Trial) -> Path:
        path = self.trial_path(trial.index, ".json")
        _write_json(path, trial.to_dict())
        self.trials.append(trial)
        self.write_summary()
        return path

    def write_summary(self, **extra: Any) -> None:
        summary = {**self.meta, **summarize(self.trials), **extra}
        _write_json(self.dir / "summary.json", summary)
        rows = summary["trials"]
        with open(self.dir / "trials.csv", "w", newline="") as f:
            cols = list(dict.fromkeys(k for r in rows for k in r)) or ["trial"]
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)


def load_summary(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(run_dir) / "summary.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise TestbedError(f"{run_dir} holds no readable summary.json ({e}): point at a run directory.") from e


def load_trial(path: Path) -> Trial:
    return Trial.from_dict(json.loads(Path(path).read_text()))


def find_runs(path: Path) -> list[Path]:
    """Run directories at or below ``path`` (each has a summary.json), oldest first."""
    p = Path(path)
    if (p / "summary.json").is_file():
        return [p]
    return sorted((s.parent for s in p.rglob("summary.json")), key=lambda d: (d.name, str(d)))
