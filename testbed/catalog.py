"""Find topologies by name: every module in the ``topologies`` package with a ``build(params)``."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import topologies
from testbed.errors import TestbedError
from testbed.params import Params
from testbed.topo import Topology


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(topologies.__path__) if not m.name.startswith("_"))


def module(name: str) -> ModuleType:
    if name not in names():
        raise TestbedError(f"unknown topology {name!r}: choose one of {', '.join(names())} ('testbed list').")
    return importlib.import_module(f"topologies.{name}")


def summary(name: str) -> str:
    doc = (module(name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def build(name: str, overrides: dict | None = None) -> Topology:
    """Validate parameters and build the named topology's model."""
    mod = module(name)
    params = Params(overrides or {}, extra=getattr(mod, "PARAMS", None))
    return mod.build(params)
