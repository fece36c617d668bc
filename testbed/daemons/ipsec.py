"""The IPsec tunnels of a run: a charon per tunnel end, pre-shared keys, TUN devices, status.

Route-based: traffic selectors 0.0.0.0/0 and no routes from strongSwan; FRR routes over each
tunnel end's device: an XFRM interface where ESP runs in the kernel, the TUN device of
kernel-libipsec where it runs in userspace (kernels without XFRM interfaces or ESP), as
``vpn.dataplane`` and the kernel decide (testbed.daemons.xfrm).
"""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from testbed.daemons import xfrm
from testbed.daemons.strongswan import Charon, TunnelSpec, dataplane, failure_reason, kill_leftovers
from testbed.errors import TestbedError
from testbed.model.params import Params
from testbed.model.topo import Topology, Tunnel
from testbed.system import nft

MSS_TABLE = "tbvpn"


def _dpd(p: Params) -> dict[str, float]:
    """charon settings whose probe delay plus retransmissions add up to Azure's DPD timeout.

    IKEv2 has no DPD timeout of its own: charon probes after ``dpd_delay`` without traffic and
    declares the peer dead when its retransmissions run out (2+4+8+16 = 30 s here).
    """
    timeout = p["vpn.dpd_timeout_s"]
    tries = 3 if timeout >= 40 else 1            # 30 s or 6 s of retransmissions
    budget = sum(2.0 * 2 ** n for n in range(tries + 1))
    return {"dpd_delay_s": max(1, int(timeout - budget)), "retransmit_timeout_s": 2.0,
            "retransmit_base": 2.0, "retransmit_tries": tries}


def mss_clamp_rules(mss: int) -> str:
    """The nft script that lowers the MSS option of SYNs (and SYN-ACKs) entering a tunnel to
    ``mss``; a smaller MSS is left as it is, as a clamp does."""
    return (f"table inet {MSS_TABLE} {{\n"
            "  chain clamp {\n"
            "    type filter hook forward priority mangle;\n"
            f"    oifname \"ipsec*\" tcp flags syn tcp option maxseg size > {mss} tcp option maxseg size set {mss}\n"
            "  }\n"
            "}\n")


def _write_psk(path: Path) -> None:
    """A fresh key per run, readable by root only; never printed or logged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")


class Tunnels:
    """Both ends of every tunnel of a topology, inside the nodes of one run."""

    def __init__(self, topo: Topology, workdir: Path, dataplane: str = "libipsec") -> None:
        """``dataplane`` is the one a running run uses (its state's), for a handle on it;
        :meth:`start` finds its own."""
        self.topo = topo
        self.workdir = workdir
        self.dataplane = dataplane
        self.dataplane_why = ""
        self.ends: dict[str, tuple[Charon, Charon]] = {}   # label -> (on-prem, azure)
        self.standby: dict[str, Charon] = {}                # label -> the standby instance's

    def _specs(self, t: Tunnel, psk: Path, table: int) -> tuple[TunnelSpec, TunnelSpec]:
        p = self.topo.params
        common: dict[str, Any] = dict(
            psk_file=psk, ike_lifetime_s=p["vpn.ike_lifetime_s"], child_lifetime_s=p["vpn.child_lifetime_s"],
            mtu=p["vpn.mtu"], dataplane=self.dataplane, if_id=self.topo.tunnels.index(t) + 1, **_dpd(p))
        # The gateway accepts Azure's default lists, or only the connection's custom policy; the
        # device proposes its own, else the custom policy, else TunnelSpec's (AES256/SHA256).
        gateway = {"ike_proposal": p["vpn.ike_proposal"] or p["vpngw.ike_proposals"],
                   "esp_proposal": p["vpn.esp_proposal"] or p["vpngw.esp_proposals"]}
        own: dict[str, Any] = {"psk_file": Path(p["onprem.vpn_psk_file"])} if p["onprem.vpn_psk_file"] else {}
        for key in ("ike_proposal", "esp_proposal"):
            if p[f"onprem.vpn_{key}"] or p[f"vpn.{key}"]:
                own[key] = p[f"onprem.vpn_{key}"] or p[f"vpn.{key}"]
        onprem = TunnelSpec(name=t.label, local_addr=t.onprem_outer, remote_addr=t.azure_outer,
                            initiator=True, routing_table=table, device=t.onprem_tun, ike_port=t.onprem_ports[0],
                            nat_t_port=t.onprem_ports[1], **{**common, **own})
        azure = TunnelSpec(name=t.label, local_addr=t.azure_outer, remote_addr=t.onprem_outer,
                           initiator=False, routing_table=220, device=t.azure_tun, **{**common, **gateway})
        return onprem, azure

    def _psk(self, t: Tunnel) -> Path:
        given = self.topo.params["vpn.psk_file"]
        return Path(given) if given else self.workdir / "psk" / f"{t.label}.key"

    def start(self, nodes: dict[str, Any], timeout: float = 15.0) -> None:
        """Find the data plane, start every charon (in order, so TUN names are as the topology
        predicts), then wait."""
        first = self.topo.tunnels[0].onprem
        self.dataplane, self.dataplane_why = xfrm.resolve(self.topo.params["vpn.dataplane"], nodes[first])
        for i, t in enumerate(self.topo.tunnels):
            psk = self._psk(t)
            if not self.topo.params["vpn.psk_file"]:
                _write_psk(psk)
            spec_on, spec_az = self._specs(t, psk, table=220 + i)
            az = Charon(nodes[t.azure], spec_az, self.workdir / t.azure)
            on = Charon(nodes[t.onprem], spec_on, self.workdir / t.onprem)
            self.ends[t.label] = (on, az)
            starts = [(az, t.azure_tun, t.azure_inner), (on, t.onprem_tun, t.onprem_inner)]
            if t.standby:  # a responder too, whose links are down until it takes over
                self.standby[t.label] = Charon(nodes[t.standby], spec_az, self.workdir / t.standby)
                starts.append((self.standby[t.label], t.azure_tun, t.azure_inner))
            for charon, want, inner in starts:
                self._start_end(t, charon, want, inner)
            for charon, _, _ in starts:
                charon.load()
        for label, (on, az) in self.ends.items():
            try:
                on.wait_established(timeout)
            except TestbedError as e:
                cause = str(e).removesuffix(on.log_hint)  # the log goes with the run's files
                raise TestbedError(f"{cause}: fix the tunnel's settings (keys and proposals must match).") from e
        self._clamp_mss(nodes)

    @staticmethod
    def _start_end(t: Tunnel, charon: Charon, want: str, inner: str) -> None:
        """Start one end's charon and give its TUN device (which must be ``want``) the inner address."""
        charon.start()
        if charon.tun != want:
            raise TestbedError(
                f"tunnel {t.label}: charon on {charon.node.name} created {charon.tun}, expected {want}: "
                "another TUN device exists in the node; run 'testbed clean'."
            )
        charon.assign_inner(f"{inner}/32")

    def restart(self, label: str, side: str) -> Charon:
        """Start the charon of one tunnel end again after :meth:`Charon.kill`: a fresh process with the same configuration, key and TUN device name; does not wait for the SA."""
        t = self.topo.tunnel_named(label)
        charon = self.charon(t, side)
        want, inner = (t.onprem_tun, t.onprem_inner) if side == "on-prem" else (t.azure_tun, t.azure_inner)
        charon.drop_rule()
        self._start_end(t, charon, want, inner)
        charon.load()
        return charon

    def _clamp_mss(self, nodes: dict[str, Any]) -> None:
        """Azure: TCP MSS at most 1,350 through the tunnel (docs/azure.md#ipsec-and-ike), an
        nftables rule in every VPN node; a rule the kernel refuses raises."""
        script = mss_clamp_rules(self.topo.params["vpn.mss"])
        for node in sorted({n for t in self.topo.tunnels for n in (t.onprem, t.azure, t.standby) if n}):
            nft.apply(nodes[node].pid, script)

    def started(self) -> list[Charon]:
        """Every charon this object started (both ends of each tunnel, the standby instances)."""
        return [c for pair in self.ends.values() for c in pair] + list(self.standby.values())

    def stop(self) -> None:
        for charon in self.started():
            charon.stop()
        self.ends.clear()
        self.standby.clear()

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for t in self.topo.tunnels:
            sides = [("on-prem", t.onprem), ("azure", t.azure)] + ([("standby", t.standby)] if t.standby else [])
            for side, node in sides:
                c = self.charon(t, side)
                try:
                    st = c.status()
                except (TestbedError, OSError) as e:
                    st = {"ike_state": "down", "child_state": None, "error": str(e)[:120]}
                log = c.log_text()
                if st.get("child_state") != "INSTALLED":
                    st["reason"] = failure_reason(log) or st.get("error")
                rows.append({"tunnel": t.label, "node": node, "side": side, "dataplane": dataplane(log), **st})
        return rows

    def charon(self, t: Tunnel, side: str) -> Charon:
        """The running charon of one tunnel end (started here, or attached from the state)."""
        on, az = self.ends.get(t.label, (None, None))
        started = {"on-prem": on, "azure": az, "standby": self.standby.get(t.label)}[side]
        if started is not None:
            return started
        node = {"on-prem": t.onprem, "azure": t.azure, "standby": t.standby}[side]
        assert node is not None, f"tunnel {t.label} has no {side} end"
        spec = self._specs(t, self._psk(t), 0)[0 if side == "on-prem" else 1]
        return Charon(_NodeName(node), spec, self.workdir / node).attach()

    def served_by(self, node: str) -> list[Charon]:
        """The charons of a gateway instance (active or standby), one per tunnel it serves."""
        return [self.charon(t, side) for t in self.topo.tunnels
                for side, n in (("azure", t.azure), ("standby", t.standby)) if n == node]


class _NodeName:
    """Enough of a node for an attached Charon: its name (no commands run through it)."""

    def __init__(self, name: str) -> None:
        self.name = name


def clean(workdir: Path) -> list[int]:
    """Stop charons a killed run left (verified by pid file and command line) and drop the files."""
    killed = []
    if workdir.is_dir():
        for node_dir in workdir.iterdir():
            if node_dir.is_dir():
                killed += kill_leftovers(node_dir)
        shutil.rmtree(workdir, ignore_errors=True)
    return killed
