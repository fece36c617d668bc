"""A running topology: Mininet nodes and links, FRR on every router, a state file, clean-up.

``Network`` is a context manager: whatever happens inside (an error, Ctrl-C, SIGTERM), leaving
it stops every daemon by pid, removes every node and its links, and deletes the run directory.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from testbed.daemons import byoconfig
from testbed.daemons.frr import FrrRouter, dry_run
from testbed.daemons.ipsec import Tunnels
from testbed.daemons.render import frr_conf
from testbed.errors import TestbedError
from testbed.model.topo import Behaviour, Topology
from testbed.runtime import state
from testbed.system import kernel, nft
from testbed.system.poll import poll
from testbed.system.procs import netns_inode, pids_in_netns, stop

# Inside every node (never on the host): route, accept asymmetric paths, hash flows by ports
# so ECMP spreads them, and skip next hops whose link has lost carrier, as a router does.
NODE_SYSCTLS = {
    "net.ipv4.ip_forward": 1,
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.conf.default.rp_filter": 0,
    "net.ipv4.fib_multipath_hash_policy": 1,
    "net.ipv4.conf.all.ignore_routes_with_linkdown": 1,
    "net.ipv6.conf.all.disable_ipv6": 1,
    "net.ipv6.conf.default.disable_ipv6": 1,
}


class Interrupted(BaseException):
    """Raised from a signal handler so that ``with Network(...)`` unwinds and cleans up."""


def install_signal_handlers() -> None:
    def handler(signum, _frame):
        raise Interrupted(signal.Signals(signum).name)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, handler)


class Network:
    """Build, converge and tear down one topology under the run name ``run``."""

    def __init__(self, topo: Topology, run: str = state.DEFAULT_RUN,
                 configs: dict[str, Path] | None = None, configs_as_is: bool = False) -> None:
        self.topo = topo
        self.run = state.check_run_name(run)
        # the configs the network file names, then the command line's (which win)
        self.configs = {**topo.configs, **(configs or {})}
        # A training lab's starting configs are wrong on purpose: run them unchecked and unmapped.
        self.configs_as_is = configs_as_is
        self.dir = state.run_dir(run)
        self.frr: dict[str, FrrRouter] = {}
        self.tunnels: Tunnels | None = None
        self.nodes: dict[str, Any] = {}    # mininet Nodes, only in the process that built them
        self.pids: dict[str, int] = {}     # node shell pids: the handle into each namespace
        self.mn = None
        self.state: dict[str, Any] = {}
        self.convergence: Any = None       # set by testbed.observe.converge once converged
        self._stopping = threading.Event()
        self._claimed = False  # only a claimed run may be torn down by this object
        self._behaviour_threads: list[threading.Thread] = []
        self._state_lock = threading.Lock()
        unknown = set(self.configs) - set(topo.routers)
        if unknown:
            raise TestbedError(
                f"--config names {', '.join(sorted(unknown))}, which is not a router of {topo.name}: "
                f"use one of {', '.join(topo.routers)}."
            )

    # --- lifecycle ---
    def __enter__(self) -> "Network":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        t0 = time.monotonic()
        self._claim_run()
        confs = self._render_configs()
        from mininet.log import setLogLevel
        from mininet.net import Mininet
        from mininet.node import Node
        setLogLevel("error")
        # mininet.log makes every logger created after it a MininetLogger, each with its own
        # stderr handler: the testbed's warnings (they become a run's notes) would also print,
        # without newlines, into the terminal
        logging.setLoggerClass(logging.Logger)
        self.mn = Mininet(topo=None, controller=None, build=False, autoSetMacs=False)
        for name in self.topo.nodes():
            self.nodes[name] = self.mn.addHost(name, cls=Node, ip=None)
            self.pids[name] = self.nodes[name].pid
        self.record(status="starting")
        for i, link in enumerate(self.topo.links):
            self._add_link(i, link)
        for name in self.topo.nodes():
            self._configure_node(name)
        for name, router in self.topo.routers.items():
            self.frr[name] = FrrRouter(self.run, name, confs[name], router.daemons)
            self.frr[name].launch(self.nodes[name])
        for name, r in self.frr.items():
            r.wait(self.nodes[name])
        if self.topo.tunnels:
            # IKE needs the outer routes, which FRR's statics install.
            self._wait_outer_routes(within_s=10)
            self.tunnels = Tunnels(self.topo, state.work_dir(self.run))
            try:
                self.tunnels.start(self.nodes)
            except TestbedError as e:
                raise self._pointing_at_kept_logs(e) from e
            self.record(status="tunnels up", tunnels_up_s=round(time.monotonic() - t0, 3),
                        dataplane=self.tunnels.dataplane, dataplane_why=self.tunnels.dataplane_why)
        self.record(status="converging", daemons_started_s=round(time.monotonic() - t0, 3))
        self.t0 = t0

    def mark_up(self, **fields: Any) -> None:
        """Declare the run up (after convergence, or at once for a training lab, which starts
        broken on purpose) and start the topology's behaviours (``Topology.behaviours``)."""
        self.record(status="up", started_at=time.time(), **fields)
        self._start_behaviours()

    def stop(self) -> None:
        """Stop everything this run started; safe to call twice and after a failed start."""
        if not self._claimed:
            return
        self._stopping.set()
        for thread in self._behaviour_threads:  # a step under way finishes against live daemons
            thread.join(timeout=15)
        # Found now, while our shells hold the namespaces: once they are gone, the kernel hands
        # their inode numbers to the next namespaces made (another run's), whose processes a
        # later look would take for ours.
        inside = pids_in_netns(set(self.state.get("netns_inodes", [])))
        nft.forget(list(self.pids.values()))
        for r in self.frr.values():
            r.stop()
        if self.tunnels is not None:
            self.tunnels.stop()
        if self.mn is not None:
            try:
                self.mn.stop()
            except Exception:  # a half-built net: fall through to the namespace sweep
                pass
            self.mn = None
        # Anything still inside our namespaces (a probe, a capture, a stray daemon) goes too.
        stop(inside)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(state.work_dir(self.run), ignore_errors=True)
        state.unlock(self.run, self._lock_fd)
        self._claimed = False

    # --- steps ---
    def _claim_run(self) -> None:
        old = state.read(self.run) or {}
        fd = state.lock(self.run)
        if fd is None:
            raise TestbedError(
                f"a testbed run named {self.run!r} is already up ({old.get('topology', 'starting')}, "
                f"pid {old.get('owner_pid', '?')}): stop it with 'testbed down' or pick another name with --name."
            )
        self._lock_fd = fd
        if old or self.dir.exists():
            from testbed.runtime.clean import clean_run
            clean_run(self.run)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._claimed = True
        self.record(status="claimed")

    def _render_configs(self) -> dict[str, Path]:
        confs = {}
        for name, router in self.topo.routers.items():
            d = self.dir / name
            d.mkdir(parents=True, exist_ok=True)
            conf = d / "frr.conf"
            if name in self.configs and self.configs_as_is:
                shutil.copyfile(self.configs[name], conf)
            elif name in self.configs:  # the user's own: checked against the node and mapped
                conf.write_text(byoconfig.fit(self.topo, name, Path(self.configs[name]), logfile=str(d / "frr.log")))
            else:
                conf.write_text(frr_conf(router, logfile=str(d / "frr.log")))
            dry_run(conf)
            confs[name] = conf
        byoconfig.adopt(self.topo, self.configs)
        return confs

    def _add_link(self, i: int, link) -> None:
        """A veth pair whose two ends have different interface indexes.

        The kernel treats a carrier change as urgent only when a device's index differs from its
        peer's (linkwatch); two fresh namespaces would otherwise both number their first veth 2,
        and a carrier loss could then take up to a second to be seen instead of a millisecond.
        """
        from mininet.link import Intf
        a, b = self.nodes[link.a.node], self.nodes[link.b.node]
        out = a.cmd(f"ip link add name {link.a.name} index {1000 + 2 * i} type veth "
                    f"peer name {link.b.name} index {1001 + 2 * i} netns {b.pid} 2>&1")
        if out.strip():
            raise TestbedError(f"creating link {link.label} failed ({out.strip()[:200]}): run 'testbed clean' and retry.")
        for node, name in ((a, link.a.name), (b, link.b.name)):
            Intf(name, node=node, moveIntfFn=lambda *_: None)  # already in place: register only

    def _configure_node(self, name: str) -> None:
        node = self.nodes[name]
        cmds = ["ip link set lo up"]
        router = self.topo.routers.get(name)
        cmds += [f"ip addr add {addr} dev lo" for addr in (router.loopbacks if router else [])]
        cmds += [f"sysctl -qw {k}={v}" for k, v in NODE_SYSCTLS.items()]
        down = {id(end) for link in self.topo.links if link.standby for end in (link.a, link.b)}
        for intf in self.topo.interfaces(name):
            if intf.addr is not None:
                cmds.append(f"ip addr add {intf.addr} dev {intf.name}")
            if intf.mtu:
                cmds.append(f"ip link set {intf.name} mtu {intf.mtu}")
            # Mininet brings a registered interface up; a standby instance's wait for its takeover
            cmds.append(f"ip link set {intf.name} {'down' if id(intf) in down else 'up'}")
        host = self.topo.hosts.get(name)
        if host and host.gateway:
            cmds.append(f"ip route add default via {host.gateway}")
        out = node.cmd("; ".join(cmds) + " 2>&1")
        if out.strip():
            raise TestbedError(f"configuring node {name} failed ({out.strip()[:200]}): this is a testbed bug, please report it.")

    def _wait_outer_routes(self, within_s: float) -> None:
        """Until every tunnel end has a route to its peer's outer address (FRR's statics)."""
        def missing() -> list[str]:
            wrong = []
            for t in self.topo.tunnels:
                for node, peer in ((t.onprem, t.azure_outer), (t.azure, t.onprem_outer)):
                    with kernel.netlink(self.pid(node)) as ipr:
                        try:
                            kernel.route_get(ipr, peer)
                        except Exception:  # no route yet (ENETUNREACH)
                            wrong.append(f"{node} has no route to {peer} for tunnel {t.label}")
            return wrong

        out = poll(missing, within_s, 0.02)
        if not out.ok:
            raise TestbedError(f"{out.problems[0]}: check the topology.")

    def keep_logs(self) -> Path:
        """A copy of the run's configs and logs (FRR's, strongSwan's) that outlives the run,
        whose own directories go with it: where a failure's message sends the user."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        kept = Path(tempfile.gettempdir()) / f"testbed-{self.run}-{stamp}"

        def special(folder: str, names: list[str]) -> list[str]:  # sockets and the like: not copyable
            return [n for n in names if not (Path(folder, n).is_file() or Path(folder, n).is_dir())]
        for src, dst in ((self.dir, kept), (state.work_dir(self.run), kept / "ipsec")):
            if src.is_dir():
                shutil.copytree(src, dst, ignore=special, dirs_exist_ok=True)
        return kept

    def _pointing_at_kept_logs(self, e: TestbedError) -> TestbedError:
        """``e`` with its paths into the run's directories, which go when the failed start is
        cleaned up, pointing into a kept copy instead (or the copy named at its end)."""
        kept = self.keep_logs()
        text = str(e).replace(str(state.work_dir(self.run)), str(kept / "ipsec")).replace(str(self.dir), str(kept))
        if str(kept) not in text:
            text = f"{text.rstrip('.')}; the run's configs and logs are kept in {kept}."
        return TestbedError(text)

    def record(self, **fields: Any) -> None:
        """Update the run's state file (status, timings, errors) with ``fields``."""
        with self._state_lock:
            self.state.update(
                run=self.run, topology=self.topo.name, origin=self.topo.origin or self.topo.name, owner_pid=os.getpid(),
                params=self.topo.params.to_dict(),
                nodes={n: {"pid": pid, "kind": "router" if n in self.topo.routers else "host"}
                       for n, pid in self.pids.items()},
                netns_inodes=[i for pid in self.pids.values() if (i := netns_inode(pid))],
                **fields,
            )
            state.write(self.run, self.state)

    # --- behaviours: what the emulated side does by itself while the run is up ---
    def _start_behaviours(self) -> None:
        for b in self.topo.behaviours:
            thread = threading.Thread(target=self._run_behaviour, args=(b,), name=b.name, daemon=True)
            thread.start()
            self._behaviour_threads.append(thread)

    def _run_behaviour(self, b: Behaviour) -> None:
        """Step ``b`` every ``b.interval_s`` until the run stops; a failure is recorded in the
        state file (``testbed status`` shows it) and printed, never swallowed."""
        try:
            while not self._stopping.wait(b.interval_s):
                b.step(self)
        except Exception as e:  # noqa: BLE001 - the thread's error must reach the user
            message = f"{b.name} stopped: {e}"
            self.record(errors=[*self.state.get("errors", []), message])
            print(f"testbed: {message}", file=sys.stderr)

    def check_behaviours(self) -> None:
        """Raise the first failure of a behaviour thread: without it the emulation is not
        Azure's any more, so whatever runs on the network (trials) stops with it."""
        errors = self.state.get("errors", [])
        if errors:
            raise TestbedError(f"{errors[0].rstrip('.')}; the emulation is incomplete, so the run stops "
                               f"(a testbed bug unless the network was changed by hand: please report it).")

    @classmethod
    def attach(cls, run: str) -> "Network":
        """A handle on a run another process owns (for status, exec, vtysh): no lifecycle."""
        st = state.require_running(run)
        from testbed.model import catalog
        net = cls(catalog.build(st.get("origin") or st["topology"], st["params"]), run=run)
        net.state = st
        net.pids = {n: info["pid"] for n, info in st["nodes"].items()}
        net.frr = {n: FrrRouter(run, n, net.dir / n / "frr.conf", r.daemons) for n, r in net.topo.routers.items()}
        if net.topo.tunnels:
            net.tunnels = Tunnels(net.topo, state.work_dir(run), st.get("dataplane", "libipsec"))
        return net

    # --- using it (thread-safe: every call forks its own process into the namespace) ---
    def pid(self, node: str) -> int:
        if node not in self.pids:
            raise TestbedError(f"no node named {node!r} in {self.topo.name}: choose one of {', '.join(self.pids)}.")
        return self.pids[node]

    def run_in(self, node: str, argv: list[str], **kw) -> subprocess.CompletedProcess:
        return exec_in(self.pid(node), argv, **kw)

    def cmd(self, node: str, command: str) -> str:
        """A shell command inside ``node``; returns its output (stdout and stderr)."""
        res = self.run_in(node, ["sh", "-c", command], capture_output=True, text=True)
        return res.stdout + res.stderr

    def ping(self, src: str, dst: str, count: int = 1, timeout_s: int = 1) -> bool:
        argv = ["ping", "-n", "-q", "-c", str(count), "-W", str(timeout_s), dst]
        return self.run_in(src, argv, capture_output=True).returncode == 0

    def netlink(self, node: str):
        return kernel.netlink(self.pid(node))


def exec_in(pid: int, argv: list[str], **kw) -> subprocess.CompletedProcess:
    """Run ``argv`` inside the network and mount namespaces of node shell ``pid``."""
    return subprocess.run(["mnexec", "-a", str(pid), *argv], **kw)
