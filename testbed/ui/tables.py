"""Tables for the terminal: a run's sessions, paths and tunnels."""
from __future__ import annotations

from testbed.ui.common import console


def converged_text(total_s: float | None, stages: dict[str, float]) -> str:
    if total_s is None:
        return "without waiting for convergence"
    return f"converged {total_s:.2f} s after start: {', '.join(f'{k} {v:.2f} s' for k, v in stages.items())}"


def print_status(st: dict) -> None:
    from rich import box
    from rich.table import Table
    con = console()
    t = Table(title=f"BGP sessions ({st['topology']}, run {st['run']})", box=box.SIMPLE_HEAD)
    for col in ("router", "session", "peer", "address", "AS", "state", "up (s)", "rcvd", "sent", "BFD"):
        t.add_column(col)
    for b in st["bgp"]:
        colour = "green" if b["state"] == "Established" else "yellow" if b.get("standby_for") else "red"
        state = f"{b['state']} (standby for {b['standby_for']})" if b.get("standby_for") else b["state"]
        state += f" ({b['reason']})" if b.get("reason") else ""
        t.add_row(b["router"], b["session"], b["peer"], b["address"], str(b["remote_as"]),
                  f"[{colour}]{state}[/]", str(b["uptime_s"]), str(b["prefixes_received"]),
                  str(b["prefixes_sent"]), b["bfd"])
    con.print(t)
    p = Table(title="Paths in use (kernel FIB)", box=box.SIMPLE_HEAD)
    for col in ("node", "prefix", "via", "expected"):
        p.add_column(col)
    for row in st["paths"]:
        want = row["expected_via"]
        expected = ", ".join(want) if want else f"{row['expected_nexthops']} next hop(s)"
        p.add_row(row["node"], row["prefix"], ", ".join(row["via"]) or "[red]no route[/]",
                  expected + ("" if row["ok"] else " [red](not so)[/]"))
    con.print(p)
    if st.get("tunnels"):
        modes = ", ".join(sorted({row["dataplane"] for row in st["tunnels"]}))
        v = Table(title=f"IPsec tunnels ({modes})", box=box.SIMPLE_HEAD)
        for col in ("tunnel", "node", "side", "device", "IKE SA", "CHILD SA", "up (s)", "bytes in", "bytes out"):
            v.add_column(col)
        for row in st["tunnels"]:
            v.add_row(row["tunnel"], row["node"], row["side"], str(row.get("tun")), str(row.get("ike_state")),
                      str(row.get("child_state")), str(row.get("established_s")), str(row.get("bytes_in")),
                      str(row.get("bytes_out")))
        con.print(v)
        if st.get("dataplane"):
            con.print(f"ESP data plane: {st['dataplane']['used']} ({st['dataplane']['why']})", highlight=False)
        for row in st["tunnels"]:
            if row.get("reason"):
                con.print(f"[red]{row['tunnel']} at {row['node']} is down:[/] {row['reason']}", highlight=False)
    for error in st.get("errors", []):
        con.print(f"[red]error:[/] {error}", highlight=False)
