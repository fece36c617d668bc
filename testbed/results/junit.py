"""Results as JUnit XML, the format CI systems and change tools read.

A test suite per run (scenario) or lab, a test case per trial or task: a failed trial's verdict
reason is its failure message, its figures are its properties (as pytest's ``record_property``
writes them); a test case for the scenario's verdict over all trials comes first. Written with
the standard library's ElementTree: the format is small and needs no dependency.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from testbed.results.report import failures


@dataclass
class Case:
    name: str
    classname: str
    failure: str | None = None       # None: passed
    details: str = ""                # the failure element's text
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suite:
    name: str
    cases: list[Case]
    properties: dict[str, Any] = field(default_factory=dict)
    timestamp: str = ""


def _properties(parent: ET.Element, props: Mapping[str, Any]) -> None:
    known = {k: v for k, v in props.items() if v is not None}
    if known:
        el = ET.SubElement(parent, "properties")
        for k, v in known.items():
            ET.SubElement(el, "property", name=k, value=str(v))


def to_xml(suites: list[Suite]) -> ET.ElementTree:
    root = ET.Element("testsuites", tests=str(sum(len(s.cases) for s in suites)),
                      failures=str(sum(c.failure is not None for s in suites for c in s.cases)))
    for s in suites:
        el = ET.SubElement(root, "testsuite", name=s.name, tests=str(len(s.cases)),
                           failures=str(sum(c.failure is not None for c in s.cases)), errors="0", skipped="0",
                           **({"timestamp": s.timestamp} if s.timestamp else {}))
        _properties(el, s.properties)
        for c in s.cases:
            case = ET.SubElement(el, "testcase", name=c.name, classname=c.classname)
            _properties(case, c.properties)
            if c.failure is not None:
                ET.SubElement(case, "failure", message=c.failure, type="verdict").text = c.details or c.failure
    ET.indent(root)
    return ET.ElementTree(root)


def write(path: Path, suites: list[Suite]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_xml(suites).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _iso(started_utc: str) -> str:
    """``20261203T070240Z`` as JUnit's ISO 8601 timestamp."""
    s = started_utc
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}" if len(s) >= 15 else ""


def run_suite(summary: Mapping[str, Any]) -> Suite:
    """A run's summary.json as a suite: the scenario's verdict, then a case per trial."""
    scenario = summary["scenario"]
    done, passed = summary.get("trials_done", 0), summary.get("passed", 0)
    outage = summary.get("stats", {}).get("outage_ms", {})
    verdict = Case(f"{scenario} (all trials)", f"testbed.scenario.{scenario}",
                   None if summary.get("ok") else f"{done - passed} of {done} trials failed"
                   if done else "no trial ended",
                   "\n".join(failures(summary)),
                   {f"outage_ms_{k}": outage.get(k) for k in ("p50", "p95", "max")}
                   | {"trials": done, "passed": passed})
    trials = [Case(f"{scenario} trial {r['trial']}", f"testbed.scenario.{scenario}",
                   None if r.get("ok") else (r.get("reason") or "failed"),
                   properties={k: v for k, v in r.items() if k not in ("trial", "ok", "reason")})
              for r in summary.get("trials", [])]
    props = {"description": summary.get("description"), "topology": summary.get("topology"),
             "fault": summary.get("fault")}
    props |= {f"param {k}": v for k, v in summary.get("overrides", {}).items()}
    props |= {f"version {k}": v for k, v in summary.get("versions", {}).items()}
    return Suite(f"{scenario} {summary.get('started_utc', '')}".strip(), [verdict, *trials], props,
                 _iso(summary.get("started_utc", "")))
