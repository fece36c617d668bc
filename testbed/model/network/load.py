"""Read a network file: YAML into the typed model, then the address plan, each problem one
sentence naming the file, the line, the key and the fix."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from testbed.errors import TestbedError
from testbed.model.network import plan
from testbed.model.network.schema import NetworkFile

Loc = tuple[str | int, ...]


@dataclass
class Source:
    """Where a network file came from and the line of each key in it."""

    path: Path
    lines: dict[Loc, int] = field(default_factory=dict)

    @property
    def base(self) -> Path:
        return self.path.parent

    def resolve(self, name: str) -> Path:
        """A path the file names (a config, a key file), relative to the file."""
        return (self.base / name).resolve()

    def line(self, loc: Loc) -> int:
        """The line of ``loc``, or of the nearest key above it that the file has."""
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.lines:
                return self.lines[loc[:n]]
        return 1

    def error(self, loc: Loc, message: str) -> TestbedError:
        key = dotted(loc)
        return TestbedError(f"{self.path} line {self.line(loc)}: {key + ' ' if key else ''}{message}")


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    """The plain data of a composed YAML node, noting each key's line."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k, v in node.value:
            key = yaml.safe_load(yaml.serialize(k)) if not isinstance(k, yaml.ScalarNode) else k.value
            lines[(*loc, key)] = k.start_mark.line + 1
            out[key] = _walk(v, (*loc, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(v, (*loc, i), lines) for i, v in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _parse(text: str, src: Source) -> Any:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise TestbedError(f"{src.path} line {line}: the YAML does not parse ({e.problem}): fix its syntax.") from None
    if node is None:
        raise TestbedError(f"{src.path} is empty: describe the network in it ('testbed schema' prints the keys).")
    return _walk(node, (), src.lines)


def _sentence(err: dict[str, Any]) -> tuple[Loc, str]:
    """One pydantic error as (where, what and the fix)."""
    loc, kind, msg = tuple(err["loc"]), err["type"], err["msg"]
    if kind == "extra_forbidden":
        return loc, "is not a key here: remove it or check its spelling ('testbed schema' lists the keys)."
    if kind == "missing":
        return loc, "is missing: add it."
    if kind == "string_pattern_mismatch":
        return loc, (f"{err['input']!r} is not a valid name here: use lower-case letters and digits "
                     f"({err['ctx']['pattern']}).")
    if kind in ("ip_v4_address", "ip_v4_network", "ip_v4_interface"):
        return loc, f"{err['input']!r} is not an IPv4 {kind.removeprefix('ip_v4_')}: fix it."
    if kind == "literal_error":
        return loc, f"is {err['input']!r}: use {err['ctx']['expected']}."
    return loc, f"is {err.get('input')!r}: {msg[0].lower() + msg[1:]}; fix the value."


def load(path: str | Path) -> tuple[NetworkFile, Source]:
    """The network file at ``path`` and its source, or one sentence saying what is wrong."""
    src = Source(Path(path).resolve())
    try:
        text = src.path.read_text()
    except OSError as e:
        raise TestbedError(f"cannot read network file {path}: {e.strerror}; check the path.") from None
    data = _parse(text, src)
    if not isinstance(data, dict):
        raise TestbedError(f"{src.path} line 1: a network file is a mapping of keys (name, onprem, ...): "
                           "see 'testbed schema'.")
    try:
        net = NetworkFile.model_validate(data)
    except ValidationError as e:
        loc, message = _sentence(e.errors()[0])
        raise src.error(loc, message) from None
    for loc, name in plan.files(net):
        if not src.resolve(name).is_file():
            raise src.error(loc, f"names {name}, which is not a file next to {src.path.name}: fix the path.")
    return net, src
