"""The probe's record file and its JSON sidecar: the format ``testbed.measure.probe`` writes and
everything else reads (pure data and the loaders; only the standard library, since the probe
imports it inside a namespace).

Record file: a 16-byte header then fixed 32-byte little-endian records::

    header: 8s magic b'TBPROBE1' | u32 record size (32) | u32 seq_bits
    record: u16 flow | u16 flags | i32 ifindex | u64 seq (as on the wire) |
            i64 send_ns | i64 recv_ns
    flags: bit0 = recv_ns is a kernel timestamp (else user space, just after recvmsg);
           bits 8-15 = the received TOS / traffic class byte (DSCP = flags >> 10)

The sidecar (``<out>.json`` unless told otherwise) is a JSON object whose ``format`` is
:data:`FORMAT` and whose ``record_format`` is :data:`RECORD_FORMAT`.
"""
from __future__ import annotations

import json
import struct
import sys
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

FORMAT = "testbed-probe/1"
FILE_MAGIC = b"TBPROBE1"
FILE_HEADER = struct.Struct("<8sII")  # 16 bytes: magic, record size, seq_bits
RECORD = struct.Struct("<HHiQqq")  # 32 bytes: flow, flags, ifindex, seq, send_ns, recv_ns
FLAG_KERNEL_TS = 1
TOS_SHIFT = 8  # the received TOS byte sits in the upper byte of a record's flags
#: the longest a received record waits in the probe's buffer before it is written (``Tail``
#: sees it then; a SIGKILL loses at most this much)
FLUSH_S = 0.1
RECORD_FORMAT = {
    "header": "<8sII magic=TBPROBE1, record_size, seq_bits",
    "record": "<HHiQqq flow, flags, ifindex, seq, send_ns, recv_ns",
    "record_size": RECORD.size,
    "flags": {"kernel_ts": FLAG_KERNEL_TS, "tos_shift": TOS_SHIFT},
}


def file_header(seq_bits: int) -> bytes:
    """The first bytes of a record file whose sequence numbers are ``seq_bits`` wide."""
    return FILE_HEADER.pack(FILE_MAGIC, RECORD.size, seq_bits)


@dataclass
class Records:
    """Column store (``array`` columns, 8 bytes or less per value) of received-packet
    records in arrival order."""

    flow: array = field(default_factory=lambda: array("H"))
    seq: array = field(default_factory=lambda: array("Q"))
    send_ns: array = field(default_factory=lambda: array("q"))
    recv_ns: array = field(default_factory=lambda: array("q"))
    ifindex: array = field(default_factory=lambda: array("i"))
    flags: array = field(default_factory=lambda: array("H"))
    seq_bits: int = 64

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[int]], seq_bits: int = 64) -> "Records":
        """Rows of (flow, seq, send_ns, recv_ns[, ifindex[, flags]])."""
        r = cls(seq_bits=seq_bits)
        for row in rows:
            r.flow.append(int(row[0]))
            r.seq.append(int(row[1]))
            r.send_ns.append(int(row[2]))
            r.recv_ns.append(int(row[3]))
            r.ifindex.append(int(row[4]) if len(row) > 4 else -1)
            r.flags.append(int(row[5]) if len(row) > 5 else 0)
        return r

    def flows(self) -> list[int]:
        return sorted(set(self.flow))

    def select(self, flow: int) -> "Records":
        idx = [i for i, f in enumerate(self.flow) if f == flow]
        return Records(
            flow=array("H", [flow]) * len(idx),
            seq=array("Q", [self.seq[i] for i in idx]),
            send_ns=array("q", [self.send_ns[i] for i in idx]),
            recv_ns=array("q", [self.recv_ns[i] for i in idx]),
            ifindex=array("i", [self.ifindex[i] for i in idx]),
            flags=array("H", [self.flags[i] for i in idx]),
            seq_bits=self.seq_bits,
        )


def _check_header(path: str, data: bytes) -> int:
    """The ``seq_bits`` of a record file that starts with ``data``."""
    if len(data) < FILE_HEADER.size:
        raise ValueError(f"{path}: too short for a probe record file")
    magic, recsize, seq_bits = FILE_HEADER.unpack_from(data, 0)
    if magic != FILE_MAGIC or recsize != RECORD.size:
        raise ValueError(f"{path}: not a probe record file (magic {magic!r}, size {recsize})")
    return seq_bits


def parse(body: memoryview, seq_bits: int) -> Records:
    """The whole records in ``body`` (record bytes after the header); a torn trailing record
    (a killed or still-writing writer) is left out."""
    body = body[: len(body) - len(body) % RECORD.size]
    if sys.byteorder != "little":  # pragma: no cover - the file is little-endian
        r = Records(seq_bits=seq_bits)
        for fl, flags, ifx, seq, snd, rcv in RECORD.iter_unpack(body):
            r.flow.append(fl)
            r.flags.append(flags)
            r.ifindex.append(ifx)
            r.seq.append(seq)
            r.send_ns.append(snd)
            r.recv_ns.append(rcv)
        return r
    # strided views over the fixed 32-byte records: C-speed column extraction
    h, i32, u64, i64 = body.cast("H"), body.cast("i"), body.cast("Q"), body.cast("q")
    return Records(flow=array("H", h[0::16]), flags=array("H", h[1::16]),
                   ifindex=array("i", i32[1::8]), seq=array("Q", u64[1::4]),
                   send_ns=array("q", i64[2::4]), recv_ns=array("q", i64[3::4]),
                   seq_bits=seq_bits)


def load_records(path: str) -> Records:
    """Read a probe record file; a torn trailing record (killed writer) is ignored."""
    with open(path, "rb") as f:
        data = f.read()
    seq_bits = _check_header(path, data)
    return parse(memoryview(data)[FILE_HEADER.size:], seq_bits)


class Tail:
    """Reads a record file while its probe writes it: each ``read`` returns the records
    written since the last one (the probe flushes at least every ``FLUSH_S``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.seq_bits = 64

    def read(self) -> Records:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        if self.offset == 0:
            if len(data) < FILE_HEADER.size:
                return Records(seq_bits=self.seq_bits)
            self.seq_bits = _check_header(self.path, data)
            self.offset, data = FILE_HEADER.size, data[FILE_HEADER.size:]
        whole = len(data) - len(data) % RECORD.size
        self.offset += whole
        return parse(memoryview(data)[:whole], self.seq_bits)


def load_meta(path: str) -> dict[str, Any]:
    with open(path) as f:
        return json.load(f)
