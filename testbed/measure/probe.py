"""Data-plane probe: paced UDP sender and timestamping receiver in one process.

Run inside a network namespace (``node.popen([sys.executable, "-m", "testbed.measure.probe", ...])``).
One process per endpoint both sends to its peer and receives the peer's probes, so two
processes measure both directions at once.

Sending
    ``--flows`` F flows, flow *i* uses UDP source port ``--port``+i and destination port
    ``--peer-port``+i (distinct 5-tuples, so ECMP L4 hashing spreads them); or ``--ports``
    P0,P1,...: flow *i* uses port Pi at both ends (a flow plan, see ``testbed.measure.flowplan``).  Each flow sends
    ``--rate`` R packets/s.  Packets are paced against absolute deadlines on CLOCK_MONOTONIC
    (``t0 + seq*I`` by default: one wake-up per interval sends one packet on every flow;
    ``t0 + seq*I + flow*I/F`` with ``--stagger``, the RFC 6413 round robin with uniform
    spacing, which costs F wake-ups per interval): the process sleeps until the next deadline
    and, if it wakes late, sends every packet that is due (each with its own sequence number
    and true send stamp) -- the schedule never drifts.  Send lateness (actual - deadline) is
    kept in a 1 us histogram.

Wire format (network byte order, padded with zeros to ``--size`` bytes)::

    u32 magic 0x54425052 ('TBPR') | u32 run id | u16 flow | u16 flags (0)
    u64 seq (modulo 2**seq_bits)  | i64 send_ns (CLOCK_MONOTONIC, stamped just before sendto)

Receiving
    The peer's probes are read with ``recvmsg`` and three ancillary messages: IP_PKTINFO /
    IPV6_PKTINFO (receiving interface index, for per-packet path attribution), IP_TOS /
    IPV6_TCLASS (the received TOS byte: routers on the way mark each path with a DSCP, see
    ``testbed.measure.pathmark``) and, with
    ``--rx-stamp kernel`` (default), SO_TIMESTAMPNS (kernel receive time on CLOCK_REALTIME,
    converted to CLOCK_MONOTONIC with an offset re-sampled at every drain).  Because the stamp
    comes from the kernel, the sockets are drained only at the send wake-ups (no extra
    wake-ups per received packet), which keeps the process cheap.

Record file (``--out``): a header, then one fixed-size record per received packet (flow, flags
with the kernel-timestamp bit and the received TOS byte, ifindex, seq, send_ns, recv_ns) in the
layout ``testbed.measure.records`` defines.  Records are buffered (64 KiB, and written at
least every ``records.FLUSH_S``: the runner reads them live) and flushed on exit, SIGTERM and
SIGINT.  A JSON sidecar (``--meta``, default ``<out>.json``) holds the parameters, the record
format, the schedule (t0, interval, flow offset), packets sent per flow, receive window,
send-lateness statistics and CPU used; it is written at start (status "running") and
rewritten at exit (status "done").

Stops by itself after ``--duration`` seconds of sending plus ``--linger`` seconds of receiving,
or on SIGTERM/SIGINT (stops sending, drains the sockets once, writes everything, exits 0).
Prints ``READY <pid> <t0_ns>`` on stdout once the sockets are bound.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

from testbed.measure.records import FLAG_KERNEL_TS, FLUSH_S, FORMAT, RECORD, RECORD_FORMAT, TOS_SHIFT, file_header

MAGIC = 0x54425052
WIRE = struct.Struct("!IIHHQq")  # 28 bytes
WIRE_MIN = WIRE.size

# Linux constants missing from Python's socket module.
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # == SCM_TIMESTAMPNS (asm-generic)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
IP_RECVTOS = getattr(socket, "IP_RECVTOS", 13)
IPV6_RECVTCLASS = getattr(socket, "IPV6_RECVTCLASS", 66)
IPV6_TCLASS = getattr(socket, "IPV6_TCLASS", 67)
PR_SET_TIMERSLACK = 29

HIST_US = 20000  # lateness histogram: 1 us bins up to 20 ms, larger values kept in a list
RECBUF_RECORDS = 2048  # 64 KiB write chunks


def _set_timer_slack(ns: int) -> bool:
    """Lower the hrtimer slack (default 50 us) so sleeps wake close to the deadline."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(ns), 0, 0, 0) == 0
    except Exception:  # pragma: no cover - non-Linux
        return False


def _lateness_stats(hist: list[int], over: list[int], total: int, total_ns: int) -> dict[str, Any]:
    """p50/p99/p99.9/max (us) from the 1 us histogram plus overflow list."""
    out: dict[str, Any] = {"count": total}
    if total == 0:
        out.update(p50_us=None, p99_us=None, p999_us=None, max_us=None, mean_us=None, over_1ms=0)
        return out
    over.sort()
    targets = {"p50_us": 0.50, "p99_us": 0.99, "p999_us": 0.999}
    res: dict[str, Any] = {}
    for key, q in targets.items():
        rank = max(1, int(q * total + 0.999999))  # nearest-rank
        acc = 0
        val = None
        for us, n in enumerate(hist):
            acc += n
            if acc >= rank:
                val = us
                break
        if val is None:
            val = over[rank - acc - 1] if rank - acc - 1 < len(over) else over[-1]
        res[key] = val
    mx = over[-1] if over else max((us for us, n in enumerate(hist) if n), default=0)
    out.update(res)
    out["max_us"] = mx
    out["mean_us"] = round(total_ns / total / 1000.0, 3)
    out["over_1ms"] = sum(hist[1000:]) + len(over)
    return out


class Probe:
    def __init__(self, a: argparse.Namespace):
        self.a = a
        self.flows = len(a.ports) if a.ports else a.flows
        self.ports = a.ports or [a.port + i for i in range(self.flows)]
        self.peer_ports = a.ports or [a.peer_port + i for i in range(self.flows)]
        self.interval_ns = int(round(1e9 / a.rate))
        self.step_ns = self.interval_ns // self.flows if a.stagger else 0
        self.seq_mask = (1 << a.seq_bits) - 1
        self.run_id = a.run_id if a.run_id is not None else (os.getpid() & 0xFFFFFFFF)
        self.v6 = ":" in a.peer
        self.family = socket.AF_INET6 if self.v6 else socket.AF_INET
        self.stop = False
        self.meta_path = a.meta or (a.out + ".json")
        self.sent = [0] * self.flows
        self.send_err = [0] * self.flows
        self.last_send_ns = [None] * self.flows
        self.received = [0] * self.flows
        self.foreign = 0
        self.kernel_ts = 0
        self.hist = [0] * HIST_US
        self.over: list[int] = []
        self.late_total = 0
        self.late_sum_ns = 0
        self.t0_ns = 0
        self.send_end_ns = None
        self.recv_start_ns = 0
        self.recv_end_ns = None
        self.started_wall = time.time()
        self.socks: list[socket.socket] = []
        self.ifnames: dict[str, str] = {}

    # -- set-up -------------------------------------------------------------------------
    def open(self) -> None:
        a = self.a
        bind = a.bind or ("::" if self.v6 else "0.0.0.0")
        for i in range(self.flows):
            # no SO_REUSEADDR: two probes on one port in one namespace must fail loudly
            s = socket.socket(self.family, socket.SOCK_DGRAM)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
            except OSError:
                pass
            if self.v6:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
            else:
                s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
                s.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
            if a.rx_stamp == "kernel":
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            if a.tos:
                if self.v6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, a.tos)
                else:
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, a.tos)
            s.bind((bind, self.ports[i]))
            s.setblocking(False)
            self.socks.append(s)
        self.recv_start_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)

    # -- output -------------------------------------------------------------------------
    def meta(self, status: str) -> dict[str, Any]:
        a = self.a
        try:  # interfaces seen at start and at exit (an interface may vanish mid-run)
            self.ifnames.update({str(i): n for i, n in socket.if_nameindex()})
        except OSError:
            pass
        ifnames = dict(self.ifnames)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.time() - self.started_wall
        return {
            "format": FORMAT,
            "status": status,
            "pid": os.getpid(),
            "run_id": self.run_id,
            "clock": "CLOCK_MONOTONIC",
            "params": {
                "peer": a.peer, "bind": a.bind, "port": a.port, "peer_port": a.peer_port,
                "ports": self.ports, "peer_ports": self.peer_ports,
                "flows": self.flows, "rate_pps": a.rate, "size": a.size,
                "duration_s": a.duration, "linger_s": a.linger, "seq_bits": a.seq_bits,
                "stagger": a.stagger, "rx_stamp": a.rx_stamp, "tos": a.tos,
                "mode": a.mode, "timer_slack_ns": a.timer_slack_ns,
            },
            "record_format": RECORD_FORMAT,
            "schedule": {
                "t0_ns": self.t0_ns, "interval_ns": self.interval_ns,
                "flow_offset_ns": self.step_ns,
                "nominal_send_ns": "t0_ns + seq*interval_ns + flow*flow_offset_ns",
            },
            "sent": self.sent,
            "send_errors": self.send_err,
            "last_send_ns": self.last_send_ns,
            "send_end_ns": self.send_end_ns,
            "received": self.received,
            "rx_foreign": self.foreign,
            "rx_kernel_ts": self.kernel_ts,
            "recv_start_ns": self.recv_start_ns,
            "recv_end_ns": self.recv_end_ns,
            "lateness_us": _lateness_stats(self.hist, list(self.over), self.late_total,
                                           self.late_sum_ns),
            "cpu": {
                "user_s": round(ru.ru_utime, 4), "sys_s": round(ru.ru_stime, 4),
                "wall_s": round(wall, 4),
                "percent": round(100.0 * (ru.ru_utime + ru.ru_stime) / wall, 2) if wall else None,
            },
            "ifnames": ifnames,
        }

    def write_meta(self, status: str) -> None:
        tmp = self.meta_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.meta(status), f, indent=1)
        os.replace(tmp, self.meta_path)

    # -- main loop ----------------------------------------------------------------------
    def run(self) -> int:
        a = self.a
        gc.disable()

        def on_signal(signum, frame):
            self.stop = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if a.timer_slack_ns:
            _set_timer_slack(a.timer_slack_ns)
        self.open()
        clock = time.clock_gettime_ns
        MONO = time.CLOCK_MONOTONIC
        REAL = time.CLOCK_REALTIME
        now = clock(MONO)
        self.t0_ns = t0 = a.start_at_ns if a.start_at_ns else now + int(a.start_delay * 1e9)
        do_send = a.mode in ("both", "send")
        do_recv = a.mode in ("both", "recv")
        send_end = t0 + int(a.duration * 1e9) if a.duration else None
        self.write_meta("running")
        out = open(a.out, "wb", buffering=0)
        out.write(file_header(a.seq_bits))
        print(f"READY {os.getpid()} {t0}", flush=True)

        # locals for speed
        F = self.flows
        I = self.interval_ns
        step = self.step_ns
        mask = self.seq_mask
        run_id = self.run_id
        socks = self.socks
        peer = [(a.peer, port) for port in self.peer_ports]
        sent = self.sent
        send_err = self.send_err
        last_send = self.last_send_ns
        hist = self.hist
        over = self.over
        received = self.received
        txbuf = bytearray(max(a.size, WIRE_MIN))
        pack_tx = WIRE.pack_into
        unpack_rx = WIRE.unpack_from
        pack_rec = RECORD.pack_into
        recbuf = bytearray(RECORD.size * RECBUF_RECORDS)
        recsize = RECORD.size
        reclen = len(recbuf)
        off = 0
        rxbuf = bytearray(2048)
        rxviews = [memoryview(rxbuf)]
        ancsize = 256
        ep = select.epoll()
        fd2sock = {}
        for i, s in enumerate(socks):
            ep.register(s.fileno(), select.EPOLLIN)
            fd2sock[s.fileno()] = (i, s)
        pkt_lvl = socket.IPPROTO_IPV6 if self.v6 else socket.IPPROTO_IP
        pkt_type = IPV6_PKTINFO if self.v6 else IP_PKTINFO
        pkt_off = 16 if self.v6 else 0
        tos_type = IPV6_TCLASS if self.v6 else socket.IP_TOS
        SOL = socket.SOL_SOCKET
        from_le = int.from_bytes
        sleep = time.sleep
        late_total = 0
        late_sum = 0
        nforeign = 0
        nkts = 0
        k = 0  # global packet index: flow = k % F, seq = k // F
        seq = 0
        f = 0
        deadline = t0
        sending = do_send
        linger_end = None
        flush_ns = int(FLUSH_S * 1e9)
        next_flush = now + flush_ns

        try:
            while True:
                now = clock(MONO)
                if sending:
                    if self.stop or (send_end is not None and now >= send_end):
                        sending = False
                        self.send_end_ns = now
                        linger_end = now if self.stop else now + int(a.linger * 1e9)
                    else:
                        while deadline <= now:
                            t = clock(MONO)
                            pack_tx(txbuf, 0, MAGIC, run_id, f, 0, seq & mask, t)
                            try:
                                socks[f].sendto(txbuf, peer[f])
                            except OSError:
                                send_err[f] += 1
                            sent[f] += 1
                            last_send[f] = t
                            lat = t - deadline
                            late_total += 1
                            late_sum += lat
                            us = lat // 1000
                            if us < HIST_US:
                                hist[us] += 1
                            else:
                                over.append(us)
                            k += 1
                            f += 1
                            if f == F:
                                f = 0
                                seq += 1
                            deadline = t0 + seq * I + f * step
                elif not do_send and linger_end is None:
                    # receive-only: run for duration (+linger) or until signalled
                    if self.stop:
                        linger_end = now
                    elif send_end is not None and now >= send_end:
                        linger_end = now + int(a.linger * 1e9)

                if do_recv:
                    ready = ep.poll(0)
                    if ready:
                        off_rt = clock(REAL) - clock(MONO)
                        for fd, _ev in ready:
                            fl, s = fd2sock[fd]
                            while True:
                                try:
                                    n, anc, _fl, _addr = s.recvmsg_into(rxviews, ancsize)
                                except (BlockingIOError, InterruptedError):
                                    break
                                except OSError:
                                    break  # e.g. ECONNREFUSED from an ICMP error; ignore
                                tu = clock(MONO)
                                if n < WIRE_MIN:
                                    nforeign += 1
                                    continue
                                magic, _rid, pflow, _pf, pseq, psend = unpack_rx(rxbuf, 0)
                                if magic != MAGIC or pflow != fl:
                                    nforeign += 1
                                    continue
                                ifx = -1
                                rts = tu
                                kts = 0
                                tos = 0
                                for lvl, typ, data in anc:
                                    if lvl == pkt_lvl and typ == pkt_type:
                                        ifx = from_le(data[pkt_off:pkt_off + 4], "little")
                                    elif lvl == pkt_lvl and typ == tos_type:
                                        tos = data[0]  # a byte (IPv4) or a native int (IPv6)
                                    elif lvl == SOL and typ == SO_TIMESTAMPNS:
                                        sec, nsec = struct.unpack_from("<qq", data)
                                        rts = sec * 1_000_000_000 + nsec - off_rt
                                        kts = FLAG_KERNEL_TS
                                nkts += kts
                                received[fl] += 1
                                pack_rec(recbuf, off, fl, kts | (tos << TOS_SHIFT), ifx, pseq,
                                         psend, rts)
                                off += recsize
                                if off == reclen:
                                    out.write(recbuf)
                                    off = 0
                    if off and now >= next_flush:  # readers see it live; a SIGKILL loses little
                        out.write(memoryview(recbuf)[:off])
                        off = 0
                        next_flush = now + flush_ns

                if not sending:
                    if linger_end is not None and (self.stop or now >= linger_end):
                        break
                    if self.stop and linger_end is None:
                        break
                    sleep(0.001)  # linger / receive-only: poll the sockets every ms
                    continue
                wait = deadline - clock(MONO)
                if wait > 0:
                    sleep(wait * 1e-9)
        finally:
            self.recv_end_ns = clock(MONO)
            if self.send_end_ns is None and do_send:
                self.send_end_ns = self.recv_end_ns
            if off:
                out.write(memoryview(recbuf)[:off])
            out.close()
            self.late_total = late_total
            self.late_sum_ns = late_sum
            self.foreign = nforeign
            self.kernel_ts = nkts
            for s in socks:
                s.close()
            ep.close()
            self.write_meta("done")
        return 0


DEFAULT_FLOWS, DEFAULT_RATE = 4, 1000.0  # 1 ms resolution per flow; the runner's defaults too


def _ports(text: str) -> list[int]:
    ports = [int(x) for x in text.split(",") if x]
    if not ports or len(set(ports)) != len(ports) or not all(0 < x < 65536 for x in ports):
        raise argparse.ArgumentTypeError("--ports wants distinct ports 1..65535, comma-separated")
    return ports


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m testbed.measure.probe", description=__doc__.split("\n")[0])
    p.add_argument("--peer", required=True, help="peer address (IPv4 or IPv6)")
    p.add_argument("--out", required=True, help="record file to write")
    p.add_argument("--meta", help="JSON sidecar (default: <out>.json)")
    p.add_argument("--bind", default="", help="local address to bind (default any)")
    p.add_argument("--port", type=int, default=47000, help="first local port (flow i: port+i)")
    p.add_argument("--peer-port", type=int, default=None, help="first peer port (default --port)")
    p.add_argument("--flows", type=int, default=DEFAULT_FLOWS)
    p.add_argument("--ports", type=_ports, default=None,
                   help="comma-separated port per flow, the same at both ends (overrides --port/--flows)")
    p.add_argument("--rate", type=float, default=DEFAULT_RATE, help="packets/s per flow")
    p.add_argument("--size", type=int, default=64, help="UDP payload bytes (min 28)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds of sending (0: until signal)")
    p.add_argument("--linger", type=float, default=0.3, help="seconds to keep receiving after --duration")
    p.add_argument("--start-delay", type=float, default=0.0, help="seconds before t0")
    p.add_argument("--start-at-ns", type=int, default=0, help="absolute CLOCK_MONOTONIC t0 (align peers)")
    p.add_argument("--seq-bits", type=int, default=64, choices=range(8, 65), metavar="{8..64}",
                   help="sequence number width on the wire (wraps modulo 2**bits)")
    p.add_argument("--stagger", action=argparse.BooleanOptionalAction, default=False,
                   help="spread flows uniformly within the interval (RFC 6413 round robin); "
                        "costs F wake-ups per interval instead of one (about 2.5x the CPU)")
    p.add_argument("--rx-stamp", choices=("kernel", "user"), default="kernel")
    p.add_argument("--mode", choices=("both", "send", "recv"), default="both")
    p.add_argument("--tos", type=int, default=0, help="IP TOS / IPv6 traffic class byte")
    p.add_argument("--run-id", type=int, default=None)
    p.add_argument("--rcvbuf", type=int, default=4 << 20, help="SO_RCVBUF bytes per socket")
    p.add_argument("--timer-slack-ns", type=int, default=1000,
                   help="PR_SET_TIMERSLACK for this process (0: leave the default 50 us)")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    if a.peer_port is None:
        a.peer_port = a.port
    if a.flows < 1 or a.flows > 65535 or a.rate <= 0:
        print("probe: --flows must be 1..65535 and --rate > 0", file=sys.stderr)
        return 2
    return Probe(a).run()


if __name__ == "__main__":
    sys.exit(main())
