"""A picture of a topology: nodes in layers from on-prem (left) to Azure (right), links with
their addresses, ASNs, BGP sessions and IPsec tunnels; as text, and as a PNG (matplotlib).

The layout needs no graph library: a node's column is its distance in links from the on-prem
hosts, and within a column nodes are ordered by the mean row of their neighbours in the column
before (the barycentre heuristic), which keeps the two ExpressRoute legs and the VPN apart.
For a running run, each BGP session is coloured by its live state.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from testbed.model.topo import Link, Topology, Tunnel

if TYPE_CHECKING:
    from testbed.runtime.net import Network

ROLE_COLOURS = {  # face, edge
    "onprem": ("#dbe8f6", "#2f5d8a"),
    "azure": ("#d8f0fb", "#0078d4"),
    "internet": ("#eeeeee", "#777777"),
}
COLUMN_IN, ROW_IN = 3.6, 1.5          # inches between columns and between rows
UP, DOWN, UNKNOWN = "#2e8b3e", "#c62828", "#444444"


@dataclass
class Session:
    """The BGP session a link or tunnel carries, with its state when the run is live."""

    kind: str                  # "eBGP" or "iBGP"
    bfd: str                   # "" or "BFD 300 ms x 3"
    state: str | None = None   # None: not a live run

    def describe(self) -> str:
        return self.kind + (f", {self.bfd}" if self.bfd else "") + (f" [{self.state}]" if self.state else "")


# --- the model --------------------------------------------------------------------------------
def role(topo: Topology, node: str) -> str:
    return topo.routers[node].role if node in topo.routers else topo.hosts[node].role


def layers(topo: Topology) -> list[list[str]]:
    """Columns of node names, on-prem hosts first; see the module doc."""
    adj: dict[str, set[str]] = {n: set() for n in topo.nodes()}
    for link in topo.links:
        adj[link.a.node].add(link.b.node)
        adj[link.b.node].add(link.a.node)
    roots = [h for h, host in topo.hosts.items() if host.role == "onprem"] or [*topo.hosts, *topo.nodes()][:1]
    depth = {r: 0 for r in roots}
    todo = deque(roots)
    while todo:
        n = todo.popleft()
        for m in sorted(adj[n]):
            if m not in depth:
                depth[m] = depth[n] + 1
                todo.append(m)
    last = max(depth.values(), default=0)
    for n in topo.nodes():             # anything unreachable goes to the far right
        depth.setdefault(n, last + 1)
    columns: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for n in topo.nodes():
        columns[depth[n]].append(n)
    columns[0].sort()
    for i in range(1, len(columns)):
        row = {n: r for r, n in enumerate(columns[i - 1])}

        def barycentre(n: str) -> float:
            before = [row[m] for m in adj[n] if m in row]
            return sum(before) / len(before) if before else float(len(row))
        columns[i].sort(key=lambda n: (barycentre(n), n))
    return columns


def sessions(topo: Topology, states: dict[str, str] | None = None) -> dict[str, Session]:
    """The BGP session of each link or tunnel, by its label (sessions are labelled like them)."""
    out = {}
    for r, n in topo.sessions():
        if n.label in out:
            continue
        peer = topo.routers[n.peer]
        out[n.label] = Session(kind="iBGP" if r.asn == peer.asn else "eBGP",
                               bfd=f"BFD {n.bfd.interval_ms} ms x {n.bfd.multiplier}" if n.bfd else "",
                               state=states.get(n.label, "missing") if states is not None else None)
    return out


def live_states(net: "Network") -> dict[str, str]:
    """Each session label's state on a running run: Established only if both ends say so."""
    from testbed.observe.status import bgp_sessions
    out: dict[str, str] = {}
    for row in bgp_sessions(net):
        if row["standby_for"]:   # a standby instance's session is its active twin's, once it takes over
            continue
        if out.get(row["session"], "Established") == "Established":
            out[row["session"]] = row["state"]
    return out


def _node_label(topo: Topology, node: str) -> str:
    if node in topo.routers:
        return f"{node}\nAS {topo.routers[node].asn}"
    return f"{node}\n{topo.address(node)}"


def _title(topo: Topology) -> str:
    roles = {role(topo, n) for n in topo.nodes()}
    return topo.name + (": on-premises (left) to Azure (right)" if {"onprem", "azure"} <= roles else "")


# --- text -------------------------------------------------------------------------------------
def text(topo: Topology, states: dict[str, str] | None = None, highlight: tuple[str, ...] = ()) -> str:
    cols = layers(topo)
    bgp = sessions(topo, states)
    names = [[f"{n}{'*' if n in highlight else ''}"
              + (f" AS{topo.routers[n].asn}" if n in topo.routers else "") for n in col] for col in cols]
    width = [max(len(s) for s in col) + 3 for col in names]
    out = [_title(topo) + (f"; * marks {', '.join(highlight)}" if highlight else ""), ""]
    for r in range(max(len(c) for c in names)):
        out.append("  " + "".join((col[r] if r < len(col) else "").ljust(w) for col, w in zip(names, width)).rstrip())
    out += ["", "Links"]
    lw = max(len(link.label) for link in topo.links) + 2
    column = {n: (c, r) for c, col in enumerate(cols) for r, n in enumerate(col)}
    for link in sorted(topo.links, key=lambda l: min(column[l.a.node], column[l.b.node])):
        ends = "  <->  ".join(f"{e.node} {e.name} {e.addr}"
                              for e in sorted((link.a, link.b), key=lambda e: column[e.node]))
        s = bgp.get(link.label)
        out.append(f"  {link.label:{lw}}{ends}" + (f"   {s.describe()}" if s else ""))
    if topo.tunnels:
        out += ["", "IPsec tunnels (BGP over the tunnel, inner addresses; outer addresses in brackets)"]
        for t in topo.tunnels:
            s = bgp.get(t.label)
            out.append(f"  {t.label:{lw}}{t.onprem} {t.onprem_tun} {t.onprem_inner} [{t.onprem_outer}]  <->  "
                       f"{t.azure} {t.azure_tun} {t.azure_inner} [{t.azure_outer}]" + (f"   {s.describe()}" if s else ""))
    origins = [(n, r.networks) for n, r in topo.routers.items() if r.networks]
    if origins:
        out += ["", "Originated prefixes"] + [f"  {n:{lw}}{', '.join(nets)}" for n, nets in origins]
    return "\n".join(out)


# --- PNG --------------------------------------------------------------------------------------
BOX_W, BOX_H = 1.0, 0.6          # node boxes, inches
LABEL_AT = 1.08                  # an interface label's centre, inches from its node's centre


def _colour(s: Session | None) -> str:
    if s is None or s.state is None:
        return UNKNOWN
    return UP if s.state == "Established" else DOWN


def png(topo: Topology, path: Path, states: dict[str, str] | None = None, highlight: tuple[str, ...] = ()) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    cols = layers(topo)
    rows = max(len(c) for c in cols)
    pos = {n: (c * COLUMN_IN, ((len(col) - 1) / 2 - r) * ROW_IN)
           for c, col in enumerate(cols) for r, n in enumerate(col)}
    bgp = sessions(topo, states)
    half = rows * ROW_IN / 2 + 0.3 + 0.3 * len(topo.tunnels)
    fig, ax = plt.subplots(figsize=(max(len(cols) * COLUMN_IN, 8), 2 * half + 0.8))
    ax.set_xlim(-COLUMN_IN / 2, (len(cols) - 0.5) * COLUMN_IN)
    ax.set_ylim(-half, half + 0.3)
    ax.axis("off")

    for link in topo.links:
        _draw_link(ax, link, pos, bgp.get(link.label))
    for i, t in enumerate(topo.tunnels):
        _draw_tunnel(ax, topo, t, i, pos, bgp.get(t.label))
    for n, (x, y) in pos.items():
        face, edge = ROLE_COLOURS.get(role(topo, n), ROLE_COLOURS["internet"])
        mark = n in highlight
        ax.add_patch(FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, boxstyle="round,pad=0.04",
                                    zorder=3, facecolor=face, edgecolor=DOWN if mark else edge,
                                    linewidth=3 if mark else 1.2))
        ax.text(x, y, _node_label(topo, n), ha="center", va="center", fontsize=9, zorder=4,
                fontweight="bold" if n in topo.routers else "normal")
        if mark:
            ax.text(x, y - BOX_H / 2 - 0.08, "you configure this", ha="center", va="top", fontsize=7,
                    color=DOWN, zorder=4)
    _draw_sides(ax, topo, pos, half)
    title = _title(topo)
    if states is not None:
        title += "   (BGP sessions: green Established, red not)"
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _along(a: tuple[float, float], b: tuple[float, float], inches: float) -> tuple[float, float]:
    """The point ``inches`` (horizontally; vertically on a vertical edge: just past the box) from
    ``a`` toward ``b``."""
    (xa, ya), (xb, yb) = a, b
    f = min(inches / abs(xb - xa) if xb != xa else (BOX_H / 2 + 0.2) / abs(yb - ya), 0.5)
    return xa + (xb - xa) * f, ya + (yb - ya) * f


def _draw_link(ax, link: Link, pos: dict, s: Session | None) -> None:
    a, b = pos[link.a.node], pos[link.b.node]
    colour = _colour(s)
    ax.plot([a[0], b[0]], [a[1], b[1]], color=colour, linewidth=2.2 if s else 1.2, zorder=1)
    box = dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none", alpha=0.9)
    for end, here, there in ((link.a, a, b), (link.b, b, a)):
        x, y = _along(here, there, LABEL_AT)
        ax.text(x, y, f"{end.name}\n{end.addr}", ha="center", va="center", fontsize=6.5, zorder=2, bbox=box)
    label = link.label + (f"\n{s.kind}" + (f", {s.bfd}" if s.bfd else "") if s else "")
    vertical = a[0] == b[0]   # then beside the line, clear of the interface labels
    ax.text((a[0] + b[0]) / 2 + (0.1 if vertical else 0), (a[1] + b[1]) / 2 + (0 if vertical else 0.1), label,
            ha="left" if vertical else "center", va="center" if vertical else "bottom", fontsize=6.5,
            style="italic", color=colour, zorder=2)


def _underlay(topo: Topology, src: str, dst: str) -> list[str]:
    """The nodes a tunnel's outer packets cross (a shortest path over links)."""
    adj: dict[str, list[str]] = {n: [] for n in topo.nodes()}
    for link in topo.links:
        adj[link.a.node].append(link.b.node)
        adj[link.b.node].append(link.a.node)
    before = {src: src}
    todo = deque([src])
    while todo:
        n = todo.popleft()
        for m in adj[n]:
            if m not in before:
                before[m] = n
                todo.append(m)
    if dst not in before:
        return [src, dst]
    hops = [dst]
    while hops[-1] != src:
        hops.append(before[hops[-1]])
    return hops[::-1]


def _draw_tunnel(ax, topo: Topology, t: Tunnel, i: int, pos: dict, s: Session | None) -> None:
    """A dashed line beside the links its outer packets take (through the internet), below them."""
    dy = -0.13 * (i + 1)
    pts = [(pos[n][0], pos[n][1] + dy) for n in _underlay(topo, t.onprem, t.azure)]
    colour = _colour(s)
    ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour, linestyle="--", linewidth=1.6, zorder=1)
    (xa, ya), (xb, yb) = pts[-2], pts[-1]
    ax.text((xa + xb) / 2, (ya + yb) / 2 - 0.18 - 0.05 * i,
            f"{t.label} (IPsec, {t.onprem_tun})\n{t.onprem_inner} - {t.azure_inner}" + (f", {s.kind}" if s else ""),
            ha="center", va="top", fontsize=6.5, color=colour, zorder=2,
            bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor=colour, alpha=0.9, linestyle="--"))


def _draw_sides(ax, topo: Topology, pos: dict, half: float) -> None:
    """Dotted lines after the last on-prem column and before the first Azure one (one line when
    they are neighbours; the internet in between otherwise)."""
    onprem = [pos[n][0] for n in pos if role(topo, n) == "onprem"]
    azure = [pos[n][0] for n in pos if role(topo, n) == "azure"]
    if not onprem or not azure or max(onprem) >= min(azure):
        return
    left, right = max(onprem) + COLUMN_IN / 2, min(azure) - COLUMN_IN / 2
    for x in {left, right}:
        ax.plot([x, x], [-half, half], color="#999999", linestyle=":", linewidth=1, zorder=0)
    ax.text(left - 0.1, half, "on-premises", ha="right", va="top", fontsize=9, color="#2f5d8a")
    ax.text(right + 0.1, half, "Azure", ha="left", va="top", fontsize=9, color="#0078d4")
    if right > left:
        ax.text((left + right) / 2, half, "internet", ha="center", va="top", fontsize=9, color="#777777")
