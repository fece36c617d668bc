"""Find topologies by name or file: a network file (``net.yaml``, or a name of the shipped
``networks/``: ``expressroute``, ``vpn``, ``hybrid``), or a module of the content's
``topologies`` with a ``build(params)`` (the testbed's own test networks: ``chain``, ``pair``)."""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

from testbed.errors import TestbedError
from testbed.model import content
from testbed.model.network import load
from testbed.model.network.schema import NetworkFile
from testbed.model.params import Param, Params
from testbed.model.topo import Topology


def names() -> list[str]:
    return sorted({*content.names("topologies"), *content.networks()})


def is_file(name: str) -> bool:
    """Whether ``name`` is a path rather than a catalog name."""
    return name.endswith((".yaml", ".yml")) or "/" in name


def network_path(name: str) -> Path | None:
    """The network file behind ``name``, or None for a topology module."""
    if is_file(name):
        return Path(name)
    return content.networks().get(name)


def module(name: str) -> ModuleType:
    if name not in names():
        raise TestbedError(f"unknown topology {name!r}: choose one of {', '.join(names())} ('testbed list'), "
                           "or give a network file (net.yaml).")
    return content.module("topologies", name)


def extra_params(name: str) -> dict[str, Param] | None:
    """The parameters a topology module defines beyond the shared ones (a file defines none)."""
    return None if network_path(name) else getattr(module(name), "PARAMS", None)


def summary(name: str) -> str:
    path = network_path(name)
    if path:
        return load.load(path)[0].summary
    doc = (module(name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def implied(net: NetworkFile, src: load.Source) -> dict[str, object]:
    """Parameters the file's VPN connection sets (its key file, DPD timeout and policies)."""
    out: dict[str, object] = {}
    if net.vpn:
        conn = net.vpn.connections[0]
        if conn.shared_key_file:
            out["vpn.psk_file"] = str(src.resolve(conn.shared_key_file))
        for key, value in (("vpn.dpd_timeout_s", conn.dpd_timeout_s), ("vpn.ike_proposal", conn.ike_proposal),
                           ("vpn.esp_proposal", conn.esp_proposal)):
            if value is not None:
                out[key] = value
    return out


def params_of(net: NetworkFile, src: load.Source, overrides: dict) -> Params:
    """The file's parameters under the command line's; a bad one in the file names its line."""
    for key, value in net.params.items():
        try:
            Params({key: value})
        except TestbedError as e:
            raise src.error(("params", key), str(e)) from None
    return Params({**implied(net, src), **net.params, **overrides})


def build(name: str, overrides: dict | None = None) -> Topology:
    """Validate parameters and build the named topology's model (or the network file's)."""
    path = network_path(name)
    if path is not None:
        net, src = load.load(path)
        params = params_of(net, src, overrides or {})
        origin = name if not is_file(name) else str(src.path)
        return content.network_builder()(net, params, src, origin=origin)
    mod = module(name)
    params = Params(overrides or {}, extra=getattr(mod, "PARAMS", None))
    if hasattr(mod, "validate"):
        mod.validate(params)
    t = mod.build(params)
    t.origin = name
    return t
