"""The example edge configs (examples/policy) and variants of them, for the byoconfig tests."""
from __future__ import annotations

from pathlib import Path

from testbed.model import catalog

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policy"


def topo():
    return catalog.build("hybrid")


def variant(tmp_path: Path, node: str, *changes: tuple[str, str]) -> Path:
    """The example config of ``node`` with each (old, new) text replaced, written to tmp_path."""
    text = (EXAMPLE / f"{node}.conf").read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{node}.conf"
    path.write_text(text)
    return path
