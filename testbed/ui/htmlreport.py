"""The HTML report's page for runs on disk: the runs' results and the network picture (drawn
here, by ``testbed.ui.graph``, as the results layer cannot)."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Mapping

from testbed.errors import TestbedError
from testbed.model import catalog
from testbed.results import html, store


def network_picture(summary: Mapping[str, Any]) -> tuple[bytes | None, str]:
    """The PNG of the run's topology with its parameters, or None and why not."""
    from testbed.ui import graph
    try:
        topo = catalog.build(summary["topology"], summary.get("overrides", {}))
    except (TestbedError, KeyError) as e:
        return None, f"no picture: topology {summary.get('topology')!r} cannot be built here ({e})"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "net.png"
        graph.png(topo, path)
        return path.read_bytes(), ""


def write_report(path: Path, runs: list[Path], summaries: list[Mapping[str, Any]],
                 baselines: Mapping[str, Mapping[str, Any]], breaches: Mapping[Path, list[str]]) -> Path:
    pages = []
    for run, s in zip(runs, summaries):
        png, note = network_picture(s)
        trials = [store.load_trial(p) for p in sorted((run / "trials").glob("[0-9][0-9][0-9].json"))]
        pages.append(html.RunPage(s, trials, baselines.get(s["scenario"]), breaches.get(run, []), png, note))
    return html.write(path, pages)
