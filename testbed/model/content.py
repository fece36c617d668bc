"""The one content root: topologies, scenarios and training labs ship inside the package
(``testbed/content``), so a plain ``pip install .`` finds them as an editable checkout does.

Network files are the YAML files of ``testbed/content/networks``, built by that package's
``build`` (the Azure layer's builder). Topologies and scenarios are modules of ``testbed.content.topologies`` and
``testbed.content.scenarios``, named by file (dashes in a name stand for underscores); a lab is a
folder of ``testbed/content/labs`` holding a ``lab.py``.
"""
from __future__ import annotations

import importlib
import pkgutil
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

PACKAGE = "testbed.content"


def names(kind: str) -> list[str]:
    """The content of one kind (``topologies``, ``scenarios``), by user-facing name."""
    package = importlib.import_module(f"{PACKAGE}.{kind}")
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(package.__path__)
                  if not m.name.startswith("_"))


def module(kind: str, name: str) -> ModuleType:
    """The module behind ``name`` (the caller has checked it is one of ``names(kind)``)."""
    return importlib.import_module(f"{PACKAGE}.{kind}.{name.replace('-', '_')}")


def networks() -> dict[str, Path]:
    """The shipped network files (``testbed/content/networks/*.yaml``) by name."""
    folder = Path(str(resources.files(PACKAGE) / "networks"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def network_builder() -> Callable[..., Any]:
    """What turns a network file into a topology (the Azure layer's, reached as content is)."""
    return importlib.import_module(f"{PACKAGE}.networks").build


def labs_dir() -> Path:
    return Path(str(resources.files(PACKAGE) / "labs"))
