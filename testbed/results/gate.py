"""A regression gate: a run against its baseline, breached or not (``testbed report --fail-on``).

Rules, each one token of ``--fail-on`` (comma-separated or repeated):

* ``STAT+Nms`` / ``STAT+N%`` -- the outage's STAT (p50, p95, max) may grow by at most N ms or N %
  of the baseline's; ``failback.STAT+...`` the same for the failback outage.
* ``verdict`` -- the scenario passed in the baseline and fails now.
* ``path`` -- a direction's paths before, during or after the fault differ from the baseline's.

Beside the rules, :func:`noise` says whether the two samples of outages differ beyond their own
spread: a two-sided Mann-Whitney U test (``scipy.stats.mannwhitneyu``). It assumes no
distribution (outages are skewed and come in steps of a BFD interval), is exact for the small
samples a run has (a few trials each, no ties) and SciPy is the reference implementation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from testbed.errors import TestbedError
from testbed.results.trial import PATH_WINDOWS

STATS = ("p50", "p95", "max")
METRICS = {"": ("outage_ms", "outage"), "failback.": ("restore_outage_ms", "failback")}
SIGNIFICANCE = 0.05
_THRESHOLD = re.compile(r"^(failback\.)?(p50|p95|max)\+(\d+(?:\.\d+)?)(ms|%)$")
EXAMPLE = "for example --fail-on p95+20%,max+100ms,failback.p95+50ms,verdict,path"


@dataclass(frozen=True)
class Threshold:
    metric: str          # a key of summary.json's stats
    label: str           # how a line names it
    stat: str
    amount: float
    unit: str            # "ms" or "%"

    def allowed(self, base: float) -> float:
        return base + (self.amount if self.unit == "ms" else base * self.amount / 100.0)

    def __str__(self) -> str:
        return f"{self.stat}+{self.amount:g}{self.unit}"


@dataclass(frozen=True)
class Rules:
    thresholds: tuple[Threshold, ...] = ()
    verdict: bool = False
    path: bool = False


def parse(specs: list[str]) -> Rules:
    """``--fail-on`` values as rules; a token that is none of them is refused."""
    thresholds, verdict, path = [], False, False
    for token in (t.strip() for s in specs for t in s.split(",")):
        if token == "verdict":
            verdict = True
        elif token == "path":
            path = True
        elif m := _THRESHOLD.match(token):
            metric, label = METRICS[m.group(1) or ""]
            thresholds.append(Threshold(metric, label, m.group(2), float(m.group(3)), m.group(4)))
        elif token:
            raise TestbedError(f"--fail-on {token!r} is not a rule: use STAT+Nms or STAT+N% (STAT p50, p95 "
                               f"or max, failback.STAT for the failback), verdict or path; {EXAMPLE}.")
    return Rules(tuple(thresholds), verdict, path)


def _paths(summary: Mapping[str, Any]) -> dict[str, set[str]]:
    """Per direction and window (``h1->vm1 paths during``), the paths seen over the trials."""
    out: dict[str, set[str]] = {}
    for row in summary.get("trials", []):
        for k, v in row.items():
            if any(k.endswith(f" paths {w}") for w in PATH_WINDOWS):
                out.setdefault(k, set()).add(v)
    return out


def _ms(v: float) -> str:
    return f"{v:.0f} ms"


def breaches(current: Mapping[str, Any], baseline: Mapping[str, Any], rules: Rules) -> list[str]:
    """One line per rule the current run breaks against the baseline (empty: it passes)."""
    name, lines = current["scenario"], []
    for t in rules.thresholds:
        base = baseline["stats"].get(t.metric, {}).get(t.stat)
        cur = current["stats"].get(t.metric, {}).get(t.stat)
        if base is None or cur is None:
            lines.append(f"{name}: {t.label} {t.stat} unknown in the {'baseline' if base is None else 'current run'}"
                         f" (no trial measured it): {t} cannot be checked")
        elif cur > t.allowed(base):
            lines.append(f"{name}: {t.label} {t.stat} {_ms(cur)} > baseline {_ms(base)} {t} = "
                         f"{_ms(t.allowed(base))} ({cur - base:+.0f} ms, {noise(current, baseline, t.metric)})")
    if rules.verdict and baseline.get("ok") and not current.get("ok"):
        failed = [r["trial"] for r in current.get("trials", []) if not r.get("ok")]
        lines.append(f"{name}: verdict changed from pass to fail (trial{'s' if len(failed) != 1 else ''} "
                     f"{', '.join(map(str, failed))} failed)")
    if rules.path:
        a, b = _paths(baseline), _paths(current)
        for key in sorted(set(a) | set(b)):
            if a.get(key, set()) != b.get(key, set()):
                lines.append(f"{name}: {key} changed: {' | '.join(sorted(a.get(key, {'-'})))} -> "
                             f"{' | '.join(sorted(b.get(key, {'-'})))}")
    return lines


def _samples(summary: Mapping[str, Any], metric: str) -> list[float]:
    return [r[metric] for r in summary.get("trials", []) if r.get(metric) is not None]


def noise(current: Mapping[str, Any], baseline: Mapping[str, Any], metric: str = "outage_ms") -> str:
    """Whether the trials' values of ``metric`` differ beyond the noise of the two samples."""
    a, b = _samples(baseline, metric), _samples(current, metric)
    if len(a) < 2 or len(b) < 2:
        return f"too few trials to tell the difference from noise (n={len(a)}, {len(b)})"
    if len(set(a) | set(b)) == 1:
        return "the same in every trial"
    from scipy.stats import mannwhitneyu
    p = float(mannwhitneyu(b, a, alternative="two-sided").pvalue)
    within = p >= SIGNIFICANCE
    return (f"{'within' if within else 'beyond'} the noise of the two samples: Mann-Whitney U p={p:.3f} "
            f"(n={len(a)}, {len(b)})")
