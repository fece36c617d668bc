"""The kernel's TCP extended counters of a node's network namespace (``/proc/<pid>/net/netstat``,
what ``nstat`` reads), without entering the namespace: procfs shows each process's own."""
from __future__ import annotations

from pathlib import Path

#: the drops of TCP segments whose MD5 signature (RFC 2385) did not fit the socket's key: a
#: wrong signature, one where no key is set, none where one is
MD5_DROPS = ("TCPMD5Failure", "TCPMD5Unexpected", "TCPMD5NotFound")


def parse(text: str, group: str = "TcpExt") -> dict[str, int]:
    """The counters of ``group`` in netstat text: a line of names then a line of values."""
    lines = [line.split() for line in text.splitlines()]
    for names, values in zip(lines, lines[1:]):
        if names and names[0] == f"{group}:" and values and values[0] == f"{group}:":
            return dict(zip(names[1:], map(int, values[1:])))
    return {}


def md5_drops(pid: int) -> dict[str, int]:
    """The MD5 drop counters of ``pid``'s namespace that are above zero."""
    counters = parse(Path(f"/proc/{pid}/net/netstat").read_text())
    return {k: counters[k] for k in MD5_DROPS if counters.get(k)}
