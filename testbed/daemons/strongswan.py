"""strongSwan (charon) IPsec tunnels inside Mininet nodes, as an Azure S2S VPN gateway would run them.

One :class:`Charon` manages one charon process for one tunnel (:class:`TunnelSpec`). Each tunnel
end has a device ``ipsecN`` that FRR routes over; strongSwan itself carries no inner addressing.
Where ESP runs is the spec's ``dataplane`` (:mod:`testbed.daemons.xfrm`):

- ``kernel``: the kernel's XFRM. :meth:`Charon.start` creates an XFRM interface of the spec's
  ``device`` name and ``if_id``; charon binds its SAs and policies to that ``if_id``.
- ``libipsec``: userspace ESP through the kernel-libipsec plugin, which creates a TUN device when
  charon starts; the kernel picks the lowest free ``ipsecN`` of the namespace, so the name
  depends on start order: :meth:`Charon.start` reads it from charon's log line
  ``created TUN device: ipsecN``.

Separate ``/run`` per charon: charon's pid file (``/run/charon.pid``) is fixed at compile time, so
two charons in one namespace would refuse to run side by side. Every charon is therefore started
as ``unshare --mount`` + ``mount --bind <its dir>/run /run`` + ``exec charon``, inside the node's
network namespace. The bind mount lives only in that private mount namespace: neither the
node's other processes (FRR keeps its sockets in ``/run/frr``) nor the host see it, and it
disappears with the charon process, so there is nothing to unmount. Consequently the run dir
must not be under ``/run`` (charon would not see it behind its own bind mount).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import vici
from vici.exception import CommandException

from testbed.daemons import xfrm
from testbed.daemons.render import render
from testbed.errors import TestbedError
from testbed.system.procs import cmdline, environ, read_pidfile, stop, stop_process

CHARON_BIN = "/usr/lib/ipsec/charon"
SWANCTL_BIN = "/usr/sbin/swanctl"

#: Plugins charon loads (``charon.load``); order is load priority. Debian ships no separate
#: curve25519 plugin (charon would log "failed to load"); openssl provides X25519.
#: kernel-libipsec must come before kernel-netlink, or kernel-netlink's XFRM backend wins.
PLUGINS = (
    "random nonce openssl aes sha1 sha2 hmac gmp kdf pem pkcs1 x509 "
    "kernel-libipsec kernel-netlink socket-default vici updown"
).split()


def plugins(dataplane: str) -> list[str]:
    """The plugins of a charon whose ESP runs in ``dataplane`` ('kernel' or 'libipsec')."""
    return [p for p in PLUGINS if dataplane == "libipsec" or p != "kernel-libipsec"]

# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107


class NodeLike(Protocol):
    """The part of ``mininet.node.Node`` this module uses."""

    name: str

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen: ...


@dataclass(kw_only=True)
class TunnelSpec:
    """One IKEv2/PSK tunnel as seen from one end. Defaults are Azure's S2S VPN gateway defaults."""

    name: str
    local_addr: str
    remote_addr: str
    psk_file: Path
    initiator: bool
    #: ip rule table for the routes kernel-libipsec installs; distinct per charon in a namespace.
    routing_table: int
    #: where ESP runs: 'libipsec' (userspace, over TUN) or 'kernel' (XFRM interface ``device``
    #: with ``if_id``, distinct per tunnel in a namespace), see testbed.daemons.xfrm
    dataplane: str = "libipsec"
    device: str = ""
    if_id: int = 0
    local_id: str | None = None
    remote_id: str | None = None
    # Azure IKE SA: AES256 / SHA256 / DH group 2, lifetime 28,800 s.
    ike_proposal: str = "aes256-sha256-modp1024"
    ike_lifetime_s: int = 28800
    # Azure child SA: AES256 / SHA256, no PFS (so no DH group), lifetime 27,000 s.
    esp_proposal: str = "aes256-sha256"
    child_lifetime_s: int = 27000
    # Azure declares a peer dead after a DPD timeout of 45 s (configurable 9-3,600 s). IKEv2 has
    # no DPD timeout of its own: charon probes after dpd_delay_s without inbound traffic and
    # gives up when the retransmission sequence ends: 15 s + (2 + 4 + 8 + 16) s = 45 s, see
    # dead_peer_after_s (strongSwan's defaults would take 165 s). A short first retransmit also
    # keeps the cost of one lost IKE packet at 2 s. These settings apply to the whole charon.
    dpd_delay_s: int = 15
    retransmit_timeout_s: float = 2.0
    retransmit_base: float = 2.0
    retransmit_tries: int = 3
    #: Azure tunnel MTU; applied to the TUN device by Charon.assign_inner().
    mtu: int = 1400
    #: Local IKE / NAT-T ports; a second charon in one namespace needs another pair (1500/14500).
    ike_port: int = 500
    nat_t_port: int = 4500
    #: The peer's IKE port. A responder answers to the source port, so keep 500 unless the peer
    #: listens elsewhere (charon then does not float to 4500).
    remote_ike_port: int = 500

    @property
    def local_identity(self) -> str:
        return self.local_id or self.local_addr

    @property
    def remote_identity(self) -> str:
        return self.remote_id or self.remote_addr

    @property
    def dead_peer_after_s(self) -> float:
        """Seconds from the last packet received from a silent peer until charon declares it dead.

        charon sends a DPD probe dpd_delay_s after the last inbound packet, then retransmits
        after timeout x base^(n-1) for n = 1..tries and gives up one timeout after the last.
        """
        base, tries = self.retransmit_base, self.retransmit_tries
        return self.dpd_delay_s + sum(self.retransmit_timeout_s * base**n for n in range(tries + 1))


def _actions(spec: TunnelSpec) -> dict[str, str]:
    """start/dpd/close actions of the child SA.

    The initiator (on-prem device) keeps the tunnel up: it restarts after a DPD timeout and
    re-creates what the peer deletes. The responder only answers: ``trap`` would install a
    0.0.0.0/0 trap policy (a default route into its TUN table) and let both ends initiate,
    which yields duplicate SAs and muddies measurements.
    """
    if spec.initiator:
        return {"start": "start", "dpd": "restart", "close": "start"}
    return {"start": "none", "dpd": "clear", "close": "none"}


def render_strongswan_conf(spec: TunnelSpec, *, vici_socket: Path, log_file: Path) -> str:
    """strongswan.conf for the charon of ``spec`` (pass it to charon via STRONGSWAN_CONF)."""
    return render("strongswan.conf.j2", spec=spec, plugins=plugins(spec.dataplane), vici_socket=vici_socket,
                  log_file=log_file)


def render_swanctl_conf(spec: TunnelSpec, *, updown: Path) -> str:
    """swanctl.conf with the connection of ``spec``; never contains the pre-shared key.

    Rekeying starts at 90 % of each lifetime, so the configured lifetime is the hard limit.
    ``updown`` is the script charon runs when a CHILD SA is installed or goes.
    """
    ike_rekey = int(spec.ike_lifetime_s * 0.9)
    return render(
        "swanctl.conf.j2",
        spec=spec,
        ike={"rekey_s": ike_rekey, "over_s": spec.ike_lifetime_s - ike_rekey},
        child={"rekey_s": int(spec.child_lifetime_s * 0.9), "life_s": spec.child_lifetime_s},
        actions=_actions(spec),
        updown=updown,
    )


#: How the updown script takes a tunnel's device down and up: carrier on a TUN device (see
#: updown.sh.j2), the link itself on an XFRM interface (which has no carrier of its own to set).
_LINK_STATE = {"libipsec": {"on": "carrier on", "off": "carrier off"}, "kernel": {"on": "up", "off": "down"}}


def render_updown(spec: TunnelSpec, *, tun: str, count: Path) -> str:
    """The updown script that takes carrier off ``tun`` when the tunnel's last CHILD SA goes
    and gives it back when one is installed (``count`` holds how many are), so that routing
    notices a dead tunnel the way it notices a dead link."""
    return render("updown.sh.j2", spec=spec, tun=tun, count=count, state=_LINK_STATE[spec.dataplane],
                  ip=shutil.which("ip") or "/usr/sbin/ip", flock=shutil.which("flock") or "/usr/bin/flock")


@dataclass(frozen=True)
class _Failure:
    pattern: re.Pattern[str]
    sentence: str
    #: Final failures end the attempt; others (retransmits) are only reported at the deadline.
    final: bool


# Matched against charon 5.9 log lines; the first match in _FAILURES order wins, so the most
# specific causes come first. {0} is the first regex group.
_FAILURES = (
    _Failure(
        re.compile(r"unable to add SAD entry with SPI (\S+)"),
        "charon could not install IPsec SA {0} (kernel XFRM in use instead of kernel-libipsec?).",
        True,
    ),
    _Failure(
        re.compile(r"tried \d+ shared keys? for '[^']*' - '([^']*)', but MAC mismatched"),
        "the AUTH payload from peer {0} does not match our pre-shared key (wrong pre-shared key).",
        True,
    ),
    _Failure(
        re.compile(r"received (AUTHENTICATION_FAILED) notify error"),
        "the peer rejected our authentication (AUTHENTICATION_FAILED): the pre-shared keys or IDs"
        " differ.",
        True,
    ),
    _Failure(
        re.compile(r"no shared key found for '([^']*)' - '([^']*)'"),
        "no pre-shared key is loaded for the identities {0} and {1}.",
        True,
    ),
    _Failure(
        re.compile(r"received NO_PROPOSAL_CHOSEN notify, no (CHILD_SA) built"),
        "IKE SA is up but the peer accepted none of our ESP proposals (CHILD_SA proposal mismatch).",
        True,
    ),
    _Failure(
        re.compile(r"received (NO_PROPOSAL_CHOSEN) notify error"),
        "the peer answered NO_PROPOSAL_CHOSEN: IKE proposal mismatch, or it has no connection for"
        " our address.",
        True,
    ),
    _Failure(
        re.compile(
            # The proposal lines closest before the rejection: no other "received proposals" between.
            r"received proposals: (.+)\n.*configured proposals: (.+)\n"
            r"(?:(?!.*received proposals: ).*\n)*?"
            r".*(?:received proposals unacceptable|no acceptable proposal found)"
        ),
        "the peer proposed {0} but we accept only {1} (NO_PROPOSAL_CHOSEN): proposal mismatch.",
        True,
    ),
    _Failure(
        re.compile(r"no IKE config found for (\S+?), sending NO_PROPOSAL_CHOSEN"),
        "a peer contacted us but no connection is configured for {0}: the addresses do not match.",
        True,
    ),
    _Failure(
        re.compile(r"giving up after (\d+) retransmits"),
        "the peer did not answer (gave up after {0} retransmits): peer unreachable or UDP 500/4500"
        " blocked.",
        False,
    ),
    _Failure(
        re.compile(r"retransmit (\d+) of request"),
        "the peer did not answer ({0} retransmits so far): peer unreachable or UDP 500/4500"
        " blocked.",
        False,
    ),
)

_CHILD_ESTABLISHED = re.compile(r"CHILD_SA \S+ established")
_TUN_CREATED = re.compile(r"created TUN device: (\S+)")
_PLUGINS_LOADED = re.compile(r"loaded plugins: (.*)")


def _tun_created(log_text: str) -> str | None:
    found = _TUN_CREATED.search(log_text)
    return found.group(1) if found else None


def _match_failure(log_text: str) -> tuple[_Failure, str] | None:
    """The failure behind the latest attempt: only the log after the last established CHILD_SA."""
    ups = list(_CHILD_ESTABLISHED.finditer(log_text))
    recent = log_text[ups[-1].end():] if ups else log_text
    for failure in _FAILURES:
        matches = list(failure.pattern.finditer(recent))
        if matches:
            return failure, failure.sentence.format(*matches[-1].groups())
    return None


def failure_reason(log_text: str) -> str | None:
    """One sentence explaining why the tunnel in this charon log is not up, or None."""
    found = _match_failure(log_text)
    return found[1] if found else None


def dataplane(log_text: str) -> str:
    """Where this charon's ESP runs, as its log says: the plugins it loaded and the TUN device
    kernel-libipsec created (the testbed's: userspace ESP), or the kernel's XFRM."""
    loaded = _PLUGINS_LOADED.findall(log_text)
    if not loaded:
        return "unknown (charon's log names no loaded plugins)"
    plugins = loaded[-1].split()
    if "kernel-libipsec" in plugins:
        if _TUN_CREATED.search(log_text):
            return "kernel-libipsec (userspace ESP over TUN)"
        return "kernel-libipsec, but no TUN device created"
    return "kernel XFRM (kernel-netlink)" if "kernel-netlink" in plugins else "none (no kernel IPsec plugin loaded)"


def _exit_text(returncode: int) -> str:
    """How a process ended, as Popen's return code says: negative is the signal that killed it."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def _is_our_charon(pid: int, conf: Path) -> bool:
    """True if ``pid`` is a charon started with STRONGSWAN_CONF=conf (guards against pid reuse)."""
    return cmdline(pid).split(" ")[0] == CHARON_BIN and environ(pid).get("STRONGSWAN_CONF") == str(conf)


def leftover_pids(run_dir: Path) -> list[int]:
    """Pids of charons still running from pid files under ``run_dir`` (e.g. of a killed run)."""
    pids = []
    for pid_file in sorted(Path(run_dir).glob("*/charon.pid")):
        pid = read_pidfile(pid_file)
        if pid is not None and _is_our_charon(pid, pid_file.parent / "strongswan.conf"):
            pids.append(pid)
    return pids


def kill_leftovers(run_dir: Path, timeout: float = 5.0) -> list[int]:
    """Stop every charon :func:`leftover_pids` finds; returns their pids."""
    pids = leftover_pids(run_dir)
    stop(pids, timeout)
    for pid_file in Path(run_dir).glob("*/charon.pid"):
        pid_file.unlink(missing_ok=True)
    return pids


def _decode(value: Any) -> Any:
    """vici returns bytes for every scalar."""
    return value.decode() if isinstance(value, bytes) else value


class Charon:
    """One charon process, for one tunnel, inside a Mininet node.

    Files live in ``run_dir/<spec.name>/``: strongswan.conf, swanctl.conf, updown.sh (and its
    count of CHILD SAs, child_sas), charon.log, charon.out (stdout/stderr), charon.pid,
    charon.vici and run/ (bind-mounted over /run).
    """

    def __init__(self, node: NodeLike, spec: TunnelSpec, run_dir: Path) -> None:
        self.node = node
        self.spec = spec
        self.dir = Path(run_dir).resolve() / spec.name
        if self.dir == Path("/run") or Path("/run") in self.dir.parents:
            raise ValueError(f"run dir {run_dir} is under /run, which charon's own /run hides")
        self.conf = self.dir / "strongswan.conf"
        self.swanctl_conf = self.dir / "swanctl.conf"
        self.log_file = self.dir / "charon.log"
        self.pid_file = self.dir / "charon.pid"
        self.vici_socket = self.dir / "charon.vici"
        self.updown = self.dir / "updown.sh"
        if len(str(self.vici_socket)) > _MAX_SOCKET_PATH:
            raise ValueError(f"vici socket path {self.vici_socket} is too long for a unix socket")
        self.tun: str | None = None
        self._proc: subprocess.Popen | None = None
        self._log_mark = 0

    def __repr__(self) -> str:
        return f"Charon({self.spec.name} on {self.node.name}, pid={self.pid})"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def log_hint(self) -> str:
        """How every failure's message ends (a caller that shows the run's files may drop it)."""
        return f"; see charon's log {self.log_file}."

    def _fail(self, cause: str) -> TestbedError:
        """One sentence: the tunnel, what went wrong (``cause``) and where charon's log is."""
        spec = self.spec
        return TestbedError(
            f"tunnel {spec.name} ({self.node.name} {spec.local_addr} -> {spec.remote_addr}): {cause.rstrip('.')}"
            f"{self.log_hint}"
        )

    def _run_in_node(self, argv: list[str]) -> str:
        rc, text = xfrm.run_in(self.node, argv)
        if rc != 0:
            raise self._fail(f"{' '.join(argv)} failed: {text}")
        return text

    @property
    def kernel_esp(self) -> bool:
        return self.spec.dataplane == "kernel"

    def log_text(self, since_mark: bool = False) -> str:
        """charon's log, from the start or only since the last load()/initiate()."""
        try:
            with self.log_file.open("rb") as f:
                f.seek(self._log_mark if since_mark else 0)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _check_running(self) -> None:
        if self._proc is None:
            pid = read_pidfile(self.pid_file)
            if pid is not None and _is_our_charon(pid, self.conf):
                return  # started by another process (the run's owner): reachable over vici
            raise self._fail("charon is not started")
        if self._proc.poll() is not None:
            out = (self.dir / "charon.out").read_text(errors="replace").strip()
            raise self._fail(f"charon {_exit_text(self._proc.returncode)}" + (f": {out[-500:]}" if out else ""))

    @contextmanager
    def _session(self, timeout: float = 5.0) -> Iterator[vici.Session]:
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(timeout)
        try:
            sock.connect(str(self.vici_socket))
            yield vici.Session(sock)
        finally:
            sock.close()

    def start(self, timeout: float = 10.0) -> None:
        """Write the configs, start charon and wait until its vici socket answers."""
        if self._proc is not None:
            raise self._fail("charon already started")
        if self.kernel_esp:
            xfrm.add_interface(self.node, self.spec.device, self.spec.if_id)
        else:
            rules = self._run_in_node(["ip", "rule", "show", "table", str(self.spec.routing_table)])
            if rules:
                raise self._fail(f"routing table {self.spec.routing_table} is already in use: {rules}")
        (self.dir / "run").mkdir(parents=True, exist_ok=True)
        self.conf.write_text(
            render_strongswan_conf(self.spec, vici_socket=self.vici_socket, log_file=self.log_file)
        )
        self.swanctl_conf.write_text(render_swanctl_conf(self.spec, updown=self.updown))
        self.vici_socket.unlink(missing_ok=True)
        self.log_file.unlink(missing_ok=True)
        self._log_mark = 0
        # unshare, sh and charon replace each other by exec, so the Popen pid is charon's.
        argv = [
            "unshare", "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", 'mount --bind "$0" /run && exec "$1"', str(self.dir / "run"), CHARON_BIN,
        ]  # fmt: skip
        with (self.dir / "charon.out").open("wb") as out:
            self._proc = self.node.popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # LIBMOUNT_UTAB keeps mount(8) from creating /run/mount/ in the shared /run.
                env={
                    **os.environ,
                    "STRONGSWAN_CONF": str(self.conf),
                    "LIBMOUNT_UTAB": str(self.dir / "utab"),
                },
            )
        self.pid_file.write_text(f"{self._proc.pid}\n")
        deadline = time.monotonic() + timeout
        while True:
            self._check_running()
            tun = self.spec.device if self.kernel_esp else _tun_created(self.log_text())
            if tun and self.vici_socket.exists():
                try:
                    with self._session() as session:
                        session.version()
                    self.tun = tun
                    self._write_updown()
                    return
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise self._fail(f"charon did not answer on {self.vici_socket} within {timeout:.0f} s")
            time.sleep(0.02)

    def _write_updown(self) -> None:
        """The updown script for this charon's TUN device (before any CHILD SA: load() comes after)."""
        assert self.tun is not None
        count = self.dir / "child_sas"
        count.unlink(missing_ok=True)
        self.updown.write_text(render_updown(self.spec, tun=self.tun, count=count))
        self.updown.chmod(0o700)

    def load(self) -> None:
        """Hand charon the pre-shared key (over vici, so it is never written to a config) and
        load the connection with swanctl; an initiator then starts negotiating.

        ``swanctl --load-conns`` rather than ``--load-all``: --load-creds would unload shared
        keys it did not load from swanctl.conf, i.e. the one loaded here.
        """
        self._check_running()
        self.load_key()
        self._log_mark = self.log_file.stat().st_size
        uri = f"unix://{self.vici_socket}"
        done = subprocess.run(
            [SWANCTL_BIN, "--load-conns", "--uri", uri, "--file", str(self.swanctl_conf)],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            raise self._fail(f"swanctl --load-conns failed: {(done.stdout + done.stderr).strip()}")

    def load_key(self, key: str | None = None) -> None:
        """Load ``key`` (default: the one in the spec's key file) as the tunnel's pre-shared key
        over vici, replacing the one loaded; SAs already up keep running, the next
        authentication uses it."""
        if key is None:
            key = self.spec.psk_file.read_text().strip()
            if not key:
                raise self._fail(f"pre-shared key file {self.spec.psk_file} is empty")
        with self._session() as session:
            session.load_shared(
                {
                    "id": f"psk-{self.spec.name}",
                    "type": "IKE",
                    "data": key,
                    "owners": [self.spec.local_identity, self.spec.remote_identity],
                }
            )

    def initiate(self) -> None:
        """Start negotiating IKE + CHILD SA now (e.g. after terminate_ike()); does not wait."""
        self._check_running()
        self._log_mark = self.log_file.stat().st_size
        with self._session() as session:
            for _ in session.initiate({"ike": self.spec.name, "child": self.spec.name, "timeout": -1}):
                pass

    def _sas(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The IKE SA of this tunnel (the established one if several) and its newest installed
        CHILD SA (during a rekey there are two)."""
        with self._session() as session:
            ike_sas = [sa[self.spec.name] for sa in session.list_sas({"ike": self.spec.name})]
        if not ike_sas:
            return None, None
        ike = next((sa for sa in ike_sas if sa["state"] == b"ESTABLISHED"), ike_sas[0])
        children = list(ike.get("child-sas", {}).values())
        installed = [c for c in children if c["state"] == b"INSTALLED"]
        if installed:
            return ike, min(installed, key=lambda c: int(c["install-time"]))
        return ike, children[0] if children else None

    def wait_established(self, timeout: float = 15.0) -> str:
        """Wait until the IKE SA is ESTABLISHED and a CHILD SA INSTALLED; returns the TUN device.

        Raises TestbedError as soon as the log shows a final failure (wrong key, proposal
        mismatch, ...), or at the deadline with the most likely cause.
        """
        deadline = time.monotonic() + timeout
        while True:
            self._check_running()
            ike, child = self._sas()
            if ike and ike["state"] == b"ESTABLISHED" and child and child["state"] == b"INSTALLED":
                assert self.tun is not None
                return self.tun
            found = _match_failure(self.log_text(since_mark=True))
            if found and found[0].final:
                raise self._fail(found[1])
            if time.monotonic() > deadline:
                ike_state = _decode(ike["state"]) if ike else "none"
                states = f"IKE {ike_state}, CHILD {_decode(child['state']) if child else 'none'}"
                cause = found[1] if found else "no failure in the log (is the peer configured?)"
                raise self._fail(f"not established within {timeout:g} s ({states}): {cause}")
            time.sleep(0.02)

    def status(self) -> dict[str, Any]:
        """IKE/CHILD state, seconds since establishment and CHILD SA counters (None if no SA)."""
        self._check_running()
        ike, child = self._sas()

        def counter(key: str) -> int | None:
            return int(child[key]) if child and key in child else None

        return {
            "tunnel": self.spec.name,
            "tun": self.tun,
            "ike_state": _decode(ike["state"]) if ike else None,
            "child_state": _decode(child["state"]) if child else None,
            "established_s": int(ike["established"]) if ike and "established" in ike else None,
            "bytes_in": counter("bytes-in"),
            "bytes_out": counter("bytes-out"),
            "packets_in": counter("packets-in"),
            "packets_out": counter("packets-out"),
        }

    def _terminate(self, message: dict[str, Any], timeout: float) -> str | None:
        """Send a vici terminate; returns charon's error if it did not complete within ``timeout``."""
        self._check_running()
        try:
            with self._session(timeout=timeout + 5.0) as session:
                for _ in session.terminate({**message, "timeout": int(timeout * 1000)}):
                    pass
        except CommandException as error:
            return str(error)
        return None

    def terminate_ike(self, timeout: float = 3.0) -> None:
        """Delete the IKE SA and its CHILD SAs: sends DELETE and, if the peer does not answer
        within ``timeout``, destroys them anyway. A peer that initiated re-initiates."""
        error = self._terminate({"ike": self.spec.name, "force": "yes"}, timeout)
        # With force, charon reports a failure at the deadline although it destroyed the SA.
        if error and self._sas()[0] is not None:
            raise self._fail(f"terminating the IKE SA failed: {error}")

    def delete_child(self, timeout: float = 3.0) -> None:
        """Delete only the CHILD SA (the IPsec SA); the IKE SA stays up."""
        error = self._terminate({"child": self.spec.name}, timeout)
        if error:
            raise self._fail(
                f"CHILD SA deletion not confirmed within {timeout:g} s ({error}); it stays DELETING"
                " until the peer answers or is declared dead"
            )

    def child_spis(self) -> tuple[str, str] | None:
        """The (inbound, outbound) SPIs of the installed CHILD SA in use, or None."""
        _, child = self._sas()
        if not child or child["state"] != b"INSTALLED":
            return None
        return _decode(child["spi-in"]), _decode(child["spi-out"])

    def rekey_child(self) -> None:
        """Rekey the CHILD SA now, as at the end of its lifetime: a new SA is negotiated and
        installed before the old one is deleted (make before break); does not wait."""
        self._check_running()
        with self._session() as session:
            session.rekey({"child": self.spec.name})

    def attach(self) -> "Charon":
        """Use a charon another process started (for status): its device (under libipsec, the
        TUN device its log names)."""
        self.tun = self.spec.device if self.kernel_esp else _tun_created(self.log_text())
        return self

    def assign_inner(self, address: str, peer: str | None = None) -> None:
        """Put an inner address (e.g. the APIPA ``169.254.21.1/30``) on the TUN device, set the
        tunnel MTU and bring it up; with ``peer``, also add a /32 host route to it."""
        if self.tun is None:
            raise self._fail("charon is not started, no TUN device yet")
        commands = [
            ["ip", "addr", "replace", address, "dev", self.tun],
            ["ip", "link", "set", "dev", self.tun, "mtu", str(self.spec.mtu), "up"],
        ]
        if peer:
            commands.append(["ip", "route", "replace", f"{peer}/32", "dev", self.tun])
        for argv in commands:
            self._run_in_node(argv)

    def kill(self) -> int:
        """SIGKILL charon, as a crash would: no DELETE goes out, its userspace ESP and TUN device
        die with it, its ip rule stays behind (:meth:`drop_rule`). Under kernel ESP the
        instance's SAs and XFRM interface go too, so that a crash means the same in both data
        planes (testbed.daemons.xfrm.drop_tunnel_state). Returns its pid."""
        if self._proc is None:
            raise self._fail("charon is not started by this process, so it cannot be killed here")
        pid = self._proc.pid
        stop_process(self._proc, sig=signal.SIGKILL)
        if self.kernel_esp:
            xfrm.drop_tunnel_state(self.node, self.spec.device, self.spec.local_addr, self.spec.remote_addr)
        self._proc = None
        self.tun = None
        return pid

    def drop_rule(self) -> None:
        """Remove the ip rule for this charon's routing table that a killed charon left."""
        table = str(self.spec.routing_table)
        while self._run_in_node(["ip", "rule", "show", "table", table]):
            self._run_in_node(["ip", "rule", "del", "table", table])

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM charon (it sends DELETEs), SIGKILL after ``timeout``. Its mount namespace,
        and with it the bind mount over /run, goes away with the process."""
        # Our own unreaped child: its pid cannot have been reused, no identity check needed.
        if self._proc is not None:
            stop_process(self._proc, timeout=timeout)
            if self.kernel_esp:  # charon deleted its SAs and policies; the interface is ours
                xfrm.run_in(self.node, ["ip", "link", "del", self.spec.device])
        self._proc = None
        self.tun = None
        self.pid_file.unlink(missing_ok=True)
