"""Find topologies by name: every module of the content's ``topologies`` with a ``build(params)``."""
from __future__ import annotations

from types import ModuleType

from testbed.errors import TestbedError
from testbed.model import content
from testbed.model.params import Params
from testbed.model.topo import Topology


def names() -> list[str]:
    return content.names("topologies")


def module(name: str) -> ModuleType:
    if name not in names():
        raise TestbedError(f"unknown topology {name!r}: choose one of {', '.join(names())} ('testbed list').")
    return content.module("topologies", name)


def summary(name: str) -> str:
    doc = (module(name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def build(name: str, overrides: dict | None = None) -> Topology:
    """Validate parameters and build the named topology's model."""
    mod = module(name)
    params = Params(overrides or {}, extra=getattr(mod, "PARAMS", None))
    if hasattr(mod, "validate"):
        mod.validate(params)
    return mod.build(params)
