"""Bring your own FRR config for an on-prem router (``--config ce1=my-edge.conf``).

The convention: your config is written for the testbed's node, with that node's interface
names and addresses (``testbed config-template NODE TOPOLOGY`` prints them together with the
config the testbed would run there, a working starting point). The mapping then

- checks that the config fits the node: its local AS is the topology's on-prem AS, every BGP
  neighbor address is a peer the topology has for that node (with that peer's AS), every peer
  the topology has for it is configured (the far side expects it), every interface it names
  exists on the node and every ``update-source`` address is the node's; otherwise it raises
  one sentence naming what does not fit and how to fix it;
- writes FRR's log to the run directory (your ``log`` lines are replaced), and adds
  ``no zebra nexthop kernel enable``: an emulation workaround (zebra 8.4 can leave a kernel
  nexthop group short after a link flap), not a policy choice;
- lets the testbed's model of the node follow your config (``adopt``): the sessions you run
  without BFD are not waited for as BFD sessions, and the FIB expectations ask for a route, not
  for the testbed's own ECMP choices, since which path wins is what your tests decide.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from testbed.daemons.frr import dry_run
from testbed.daemons.frrconf import FrrConfig, load
from testbed.daemons.render import frr_conf
from testbed.errors import TestbedError
from testbed.model.topo import Router, Topology

EMULATION_LINES = ["no zebra nexthop kernel enable"]
LOG_LINE = re.compile(r"\s*log\s+(file|syslog|stdout|stderr)\b")   # where FRR logs to
NEXTHOP_WORDS = {"blackhole", "Null0", "reject", "label", "table", "nexthop-vrf", "vrf", "onlink", "tag", "color"}
QUIET_S = 1.0  # a user's configs: converged once no FIB has changed for this long


# --- the command line's NODE=FILE ------------------------------------------------------------
def node_files(items: Iterable[str], option: str = "--config", base: Path | None = None) -> dict[str, Path]:
    """``NODE=FILE`` items (``ce1=my-edge.conf``, given with ``option``) as {node: absolute path};
    a relative FILE is taken from ``base`` (default: the working directory)."""
    out = {}
    for item in items:
        node, sep, path = item.partition("=")
        if not sep or not node or not path:
            raise TestbedError(f"{option} wants NODE=FILE, got {item!r}: write it like ce1=my-edge.conf.")
        out[node] = (Path(base or ".") / path).resolve()
    return out


# --- what a node offers -----------------------------------------------------------------------
def interfaces(topo: Topology, node: str) -> dict[str, str]:
    """The node's interface names -> what each is for (links, tunnel TUN devices, loopback)."""
    lo = topo.routers[node].loopbacks if node in topo.routers else []
    out = {"lo": f"loopback {', '.join(lo)}" if lo else "loopback"}
    for link in topo.links:
        for end in (link.a, link.b):
            if end.node == node:
                out[end.name] = f"{end.addr} on {link.label} (to {link.other(node).node} {link.other(node).addr.ip})"
    for t in topo.tunnels:
        if t.onprem == node:
            out[t.onprem_tun] = f"{t.onprem_inner}/32, IPsec {t.label} (to {t.azure} {t.azure_inner})"
        elif t.azure == node:
            out[t.azure_tun] = f"{t.azure_inner}/32, IPsec {t.label} (to {t.onprem} {t.onprem_inner})"
    return out


def addresses(topo: Topology, node: str) -> set[str]:
    own = {str(i.addr.ip) for i in topo.interfaces(node) if i.addr is not None}
    if node in topo.routers:
        own |= {addr.split("/")[0] for addr in topo.routers[node].loopbacks}
    own |= {t.onprem_inner for t in topo.tunnels if t.onprem == node}
    own |= {t.azure_inner for t in topo.tunnels if t.azure == node}
    return own


def _router(topo: Topology, node: str) -> Router:
    onprem = [n for n, r in topo.routers.items() if r.role == "onprem"]
    if node not in onprem:
        raise TestbedError(f"{node!r} is not an on-prem router of {topo.name}: bring your own config for one of "
                           f"{', '.join(onprem)}.")
    return topo.routers[node]


def template(topo: Topology, node: str) -> str:
    """The convention for ``node`` as comments, followed by the config the testbed runs there."""
    r = _router(topo, node)
    lines = [f"! {node} in topology {topo.name}: your config for this router must use these names and",
             "! addresses (testbed replaces 'log' lines and adds 'no zebra nexthop kernel enable').",
             f"! local AS: {r.asn} (router bgp {r.asn})", "! interfaces:"]
    lines += [f"!   {name:10} {what}" for name, what in interfaces(topo, node).items()]
    lines.append("! BGP peers (all must be configured; the far side expects them):")
    lines += [f"!   {n.addr:16} remote-as {n.remote_as:<6} {n.label} ({n.peer})"
              f"{', the far side runs BFD' if n.bfd else ''}" for n in r.neighbors]
    lines.append("!")
    return "\n".join(lines) + "\n" + frr_conf(r, logfile="/var/log/frr/frr.log")


# --- checking ---------------------------------------------------------------------------------
def problems(topo: Topology, node: str, cfg: FrrConfig) -> list[str]:
    """What does not fit, each a clause naming the line and the fix (empty: it fits)."""
    r = _router(topo, node)
    hint = f"'testbed config-template {node} {topo.name}' prints them"
    wrong = []
    if cfg.asn is None:
        wrong.append(f"it has no 'router bgp {r.asn}' section: add one ({hint})")
    elif cfg.asn != r.asn:
        wrong.append(f"line {cfg.asn_line} says router bgp {cfg.asn} but {topo.name}'s on-prem AS is {r.asn}: "
                     f"use {r.asn} or run with --set onprem.asn={cfg.asn}")
    peers = {n.addr: n for n in r.neighbors}
    names = interfaces(topo, node)
    own = addresses(topo, node)
    configured = set()
    for peer in cfg.peers():
        addr = cfg.address(peer)
        if addr is None:
            wrong.append(f"line {peer.line} names neighbor {peer.name}, which is neither an address nor a peer "
                         f"group: use the peer's address ({', '.join(peers)})")
            continue
        configured.add(str(addr))
        want = peers.get(str(addr))
        if want is None:
            wrong.append(f"line {peer.line} peers with {addr}, which is not a peer of {node} in {topo.name}: use "
                         f"{' or '.join(f'{a} ({n.label})' for a, n in peers.items())}")
        elif cfg.remote_as(peer) not in (want.remote_as, None):
            wrong.append(f"line {cfg.line_of(peer)} gives {addr} remote-as {cfg.remote_as(peer)} but {want.peer} "
                         f"is in AS {want.remote_as}: use remote-as {want.remote_as}")
        src = cfg.opt(peer, "update-source")
        if src and src.args and src.args[0] not in names and src.args[0] not in own:
            wrong.append(f"line {src.line} uses update-source {src.args[0]}, which {node} does not have: use one "
                         f"of its addresses ({', '.join(sorted(own))})")
    for addr, n in peers.items():
        if addr not in configured:
            wrong.append(f"it has no neighbor {addr} ({n.label}, {n.peer} AS {n.remote_as}), which "
                         f"{n.peer} expects: add 'neighbor {addr} remote-as {n.remote_as}'")
    for name, line in cfg.interface_lines.items():
        if name not in names:
            wrong.append(f"line {line} configures interface {name}, which {node} does not have: use "
                         f"{', '.join(names)}")
    for s in cfg.statics:
        for tok in s.via:
            if _is_interface_word(tok) and tok not in names:
                wrong.append(f"line {s.line} routes {s.prefix} via interface {tok}, which {node} does not have: "
                             f"use {', '.join(names)}")
    return wrong


def _is_interface_word(tok: str) -> bool:
    try:
        ipaddress.IPv4Address(tok)
        return False
    except ValueError:
        return not tok.isdigit() and tok not in NEXTHOP_WORDS


def fit(topo: Topology, node: str, src: Path, logfile: str) -> str:
    """The config to run on ``node``: the user's file, checked and mapped (see the module doc)."""
    if not Path(src).is_file():
        raise TestbedError(f"config file {src} for {node} does not exist: check the path.")
    dry_run(Path(src))   # FRR's own parser first: a syntax error is the first thing to fix
    wrong = problems(topo, node, load(src))
    if wrong:
        more = f" ({len(wrong) - 1} more problem{'s' if len(wrong) > 2 else ''} after this one)" if len(wrong) > 1 else ""
        raise TestbedError(f"{src} does not fit {node} in {topo.name}: {wrong[0]}{more}.")
    return with_logfile(Path(src).read_text(), logfile, EMULATION_LINES)


def with_logfile(conf: str, logfile: str, extra: Sequence[str] = ()) -> str:
    """The text of an frr.conf with FRR's log going to ``logfile`` (its own ``log file|syslog|
    stdout|stderr`` lines dropped) and the ``extra`` lines, after ``frr version``/``frr
    defaults``, which FRR wants first."""
    lines = [line for line in conf.splitlines() if not LOG_LINE.match(line)]
    at = next((i + 1 for i in reversed(range(len(lines))) if lines[i].startswith("frr ")), 0)
    return "\n".join([*lines[:at], f"log file {logfile} informational", *extra, *lines[at:]]) + "\n"


# --- the model follows the configs ------------------------------------------------------------
def adopt(topo: Topology, configs: dict[str, Path]) -> None:
    """Make the topology's model describe the user's configs (call after rendering the others:
    the far sides keep their Azure behaviour, e.g. the MSEE still offers BFD)."""
    if not configs:
        return
    for node, src in configs.items():
        cfg = load(src)
        with_bfd = {str(cfg.address(p)) for p in cfg.peers() if cfg.opt(p, "bfd") is not None}
        for n in topo.routers[node].neighbors:
            if n.bfd and n.addr not in with_bfd:
                n.bfd = None
                for far in topo.routers[n.peer].neighbors:
                    if far.peer == node and far.label == n.label:
                        far.bfd = None
    for e in topo.fib:  # the user's policy decides the paths: its tests check them
        e.nexthops, e.via = 1, ()
    # ... so "converged" also means settled: sessions up is not routes exchanged, and a test
    # that ran before the VPN's routes reached core would see ExpressRoute where the policy
    # puts the VPN
    topo.quiet_s = QUIET_S
