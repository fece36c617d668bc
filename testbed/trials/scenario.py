"""A scenario: which topology, which fault, what to expect, how many trials.

Each module in the ``scenarios`` package declares one ``SCENARIO`` (module ``er_primary_link_down``
is the scenario ``er-primary-link-down``). The expectation is a function of the parameters
and one measured trial, returning a :class:`Verdict`; the helpers below phrase the usual ones
so that a scenario file reads like its claim.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from testbed.azure.expressroute import bfd_negotiated
from testbed.errors import TestbedError
from testbed.faults import Fault, SessionShutdown, Takeover, Together
from testbed.model import content
from testbed.model.params import Params
from testbed.model.topo import Link, Topology, Tunnel

if TYPE_CHECKING:
    from testbed.results.trial import Trial


# FRR 8.4 adds a fixed delay in every BGP speaker that must act on a change: bgpd holds its
# route-processing work queue 50 ms before running it (bgpd/bgp_route.c, spec.hold = 50; zebra's
# own 10 ms hold is set to 0 in the rendered configs). With the CE and MSEE pairs interconnected, the router that loses
# its ER link reroutes through its twin by itself: one speaker per direction (without the
# interconnects, two in series: ~120 ms).
FRR_SPEAKER_MS = 60.0
REACTION_MS = FRR_SPEAKER_MS + 40.0   # one speaker, plus propagation and probe resolution


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


# what to expect of a trial on a network (its parameters are ``net.params``)
Expectation = Callable[[Topology, "Trial"], Verdict]


@dataclass(frozen=True)
class Scenario:
    name: str                                   # CLI name, with dashes
    topology: str
    summary: str                                # one line: what breaks and what should happen
    fault: Callable[[Topology], Fault]          # built from the network's elements
    expect: Expectation
    params: Mapping[str, Any] = field(default_factory=dict)   # overrides of the topology's defaults
    trials: int = 5
    #: seconds after the fault by which the network must have settled (else the trial fails)
    deadline_s: Callable[[Params], float] = lambda p: 30.0


def names() -> list[str]:
    return content.names("scenarios")


def load(name: str) -> Scenario:
    if name not in names():
        raise TestbedError(f"unknown scenario {name!r}: choose one of {', '.join(names())}.")
    sc = content.module("scenarios", name).SCENARIO
    if sc.name != name:
        raise TestbedError(f"scenarios/{name.replace('-', '_')}.py declares {sc.name!r}: rename one of them.")
    return sc


# --- expectation helpers: each returns a Verdict about one trial -----------------------------
def all_of(*verdicts: Verdict) -> Verdict:
    """Pass when every verdict passes; the reason lists the failures, else every check."""
    bad = [v.reason for v in verdicts if not v.ok]
    return Verdict(not bad, "; ".join(bad or [v.reason for v in verdicts]))


def bfd_window(p: Params, reaction_ms: float) -> tuple[float, float, str]:
    """The outage window of a silent ExpressRoute failure: BFD detection ((M-1)I, MI] at the
    negotiated interval (the slower side's), from the earliest and the latest detecting side,
    plus ``reaction_ms``; and its description."""
    i, (ce_m, msee_m) = bfd_negotiated(p)
    lo, hi = min(ce_m, msee_m), max(ce_m, msee_m)
    return (lo - 1) * i, hi * i + reaction_ms, f"BFD {i} ms x {hi} + {reaction_ms:g} ms reaction"


def bfd_deadline_s(p: Params, extra_s: float) -> float:
    """How long a trial of a silent ExpressRoute failure may take: BFD detection plus ``extra_s``."""
    i, multipliers = bfd_negotiated(p)
    return i * max(multipliers) / 1000 + extra_s


def outage_within(t: "Trial", lo_ms: float, hi_ms: float, why: str, direction: str | None = None) -> Verdict:
    """The fault's outage (longest gap of any flow, of one direction or either) lies in (lo, hi]."""
    o = t.directions[direction].outage_ms if direction else t.outage_ms
    ok = lo_ms < o <= hi_ms
    where = f" {direction}" if direction else ""
    return Verdict(ok, f"outage{where} {o:.0f} ms {'within' if ok else 'OUTSIDE'} ({lo_ms:g}, {hi_ms:g}] ms ({why})")


def outage_below(t: "Trial", hi_ms: float, why: str, restore: bool = False) -> Verdict:
    o = t.restore_outage_ms if restore else t.outage_ms
    what = "failback outage" if restore else "outage"
    ok = o < hi_ms
    return Verdict(ok, f"{what} {o:.0f} ms {'<' if ok else '>='} {hi_ms:g} ms ({why})")


def loss_at_most(t: "Trial", hi_ms: float, why: str) -> Verdict:
    """Loss (lost packets x interval, worst flow) at most ``hi_ms``, at the fault and at restore."""
    worst = max(t.loss_ms, t.restore_loss_ms)
    ok = worst <= hi_ms
    return Verdict(ok, f"loss {t.loss_ms:.0f} ms at the fault, {t.restore_loss_ms:.0f} ms at restore "
                       f"({'<=' if ok else '>'} {hi_ms:g} ms: {why})")


def moved_off(t: "Trial", path: str, direction: str | None = None) -> Verdict:
    """Some flow used ``path`` before the fault, and once settled no flow used it (in one
    direction, or in both)."""
    def flows(window: str) -> list[tuple[str, int]]:
        return [f for f in t.flows_on(path, window) if direction in (None, f[0])]
    where = f" {direction}" if direction else ""
    before, during = flows("before"), flows("during")
    if not before:
        return Verdict(False, f"no{where} flow took {path} before the fault (ECMP hashed every flow "
                              "elsewhere): nothing was measured")
    if during:
        return Verdict(False, f"{len(during)}{where} flow(s) still on {path} after the fault settled")
    return Verdict(True, f"{len(before)}{where} flow(s) moved off {path}")


def back_to_baseline(t: "Trial") -> Verdict:
    if not t.restored:
        return Verdict(False, "the network did not return to its baseline after restore")
    return Verdict(True, "network back to baseline")


def primary_leg(net: Topology, needs: str) -> Link:
    """The primary link of the circuit on-prem prefers (``a``: its edge, ``b``: its MSEE)."""
    return net.link_named(net.circuit_named(0, needs)[1][0])


def er_instances(net: Topology, needs: str) -> tuple[str, ...]:
    """The instances of the network's first ExpressRoute gateway, or one sentence saying
    ``needs`` needs two."""
    have = next(iter(net.er_gateways.values()), ())
    if len(have) < 2:
        what = f"one with {len(have)} instance" if have else "none"
        raise TestbedError(f"{needs} needs an ExpressRoute gateway with 2 instances but {net.name} has {what}: "
                           "run it on a network with ExpressRoute and ergw.instances=2 (networks/expressroute.yaml).")
    return have


#: a gateway instance in maintenance: its own bgpd, then its peers' ECMP, and propagation
MAINTENANCE_MS = REACTION_MS + FRR_SPEAKER_MS


def maintenance(net: Topology, instance: str) -> Together:
    """Azure's maintenance of one gateway instance: its BGP sessions shut down (a Cease its
    peers act on at once; docs/azure.md#inferred-or-unconfirmed)."""
    return Together([SessionShutdown(instance, n.label) for n in net.routers[instance].neighbors],
                    what=f"{instance} in maintenance: its BGP sessions shut down (Cease)")


def maintained(t: "Trial") -> Verdict:
    """The flows of the instance in maintenance moved within :data:`MAINTENANCE_MS`, and back."""
    why = f"the instance's bgpd, then its peers' ECMP, {FRR_SPEAKER_MS:g} ms each, + 40 ms"
    return all_of(outage_below(t, MAINTENANCE_MS, why), outage_below(t, MAINTENANCE_MS, why, restore=True))


def vpn_tunnel(net: Topology, index: int, needs: str) -> Tunnel:
    """The ``index``-th tunnel of the VPN, or one sentence saying ``needs`` needs more."""
    if index >= len(net.tunnels):
        raise TestbedError(f"{needs} needs {index + 1} VPN tunnel(s) but {net.name} has {len(net.tunnels)}: "
                           "run it on a network with an active-active VPN gateway (networks/vpn.yaml).")
    return net.tunnels[index]


def dead_tunnel_ms(p: Params) -> tuple[float, float, str]:
    """When the far end of a tunnel that went silent is found dead: (earliest, latest, by what).

    Azure's VPN gateway runs no BFD: dead peer detection ends vpn.dpd_timeout_s after the last
    packet received, the BGP hold time somewhere in the hold time after the last keepalive
    (up to a keepalive interval earlier); whichever ends first, and a second for routing to
    follow (docs/azure.md#vpn-tunnel-faults)."""
    dpd_ms, hold_ms, ka_ms = p["vpn.dpd_timeout_s"] * 1000, p["vpngw.hold_s"] * 1000, p["vpngw.keepalive_s"] * 1000
    if dpd_ms <= hold_ms - ka_ms:
        return dpd_ms - 1000, dpd_ms + 1000, f"dead peer detection {dpd_ms / 1000:g} s"
    if hold_ms <= dpd_ms:
        return hold_ms - ka_ms, hold_ms + 1000, f"BGP hold {hold_ms / 1000:g} s after the last keepalive"
    return hold_ms - ka_ms, dpd_ms + 1000, f"BGP hold {hold_ms / 1000:g} s or dead peer detection {dpd_ms / 1000:g} s"


def standby_tunnel(net: Topology, needs: str) -> Tunnel:
    """The tunnel of an active-standby gateway, or one sentence saying ``needs`` needs one."""
    tunnel = next((t for t in net.tunnels if t.standby), None)
    if tunnel is None:
        raise TestbedError(f"{needs} needs an active-standby VPN gateway but {net.name} has none: run it on "
                           "networks/vpn-active-standby.yaml (or a network whose gateway has instances: 1).")
    return tunnel


# After a takeover the new instance knows no on-prem route until the device's BGP session is
# up again: a device whose session survived the takeover (its hold time had not run out) finds
# it stale only at its next keepalive, which the new instance answers with a reset; then FRR
# reconnects (1 s in Idle before the first attempt, ConnectRetry 1 s after a failed one) and
# sends its first update at once (the rendered configs' coalesce-time 0).
RECONNECT_MS = 3000.0


def _takeover(net: Topology, needs: str, delay_key: str, why: str) -> Takeover:
    """The active instance of the gateway goes and its standby takes over after ``delay_key``;
    held a keepalive and a reconnect more, so the device's stale session resets inside the trial."""
    fault = Takeover.of(net, standby_tunnel(net, needs).azure, net.params[delay_key], why)
    fault.settle, fault.hold_s = "hold", net.params["vpngw.keepalive_s"] + RECONNECT_MS / 1000 + 2.0
    return fault


def _taken_over(net: Topology, t: "Trial", needs: str, delay_key: str) -> Verdict:
    """The outage lasts the takeover delay, and at most a keepalive and a reconnect more, in
    both directions; the traffic stays on the same tunnel (same addresses, another instance)."""
    p, tunnel = net.params, standby_tunnel(net, needs).label
    delay_ms, keepalive_ms = p[delay_key] * 1000, p["vpngw.keepalive_s"] * 1000
    return all_of(outage_within(t, delay_ms, delay_ms + keepalive_ms + RECONNECT_MS,
                                f"takeover {delay_ms / 1000:g} s, then up to a keepalive ({keepalive_ms / 1000:g} s) "
                                f"until the device's BGP session resets, and {RECONNECT_MS / 1000:g} s to reconnect"),
                  flows_only_on(t, "during", tunnel), flows_only_on(t, "after", tunnel))


def takeover_scenario(name: str, delay_key: str, why: str, summary: str) -> Scenario:
    """An active-standby gateway's takeover after ``delay_key`` seconds, 3 trials, on the
    device's 10/30 s timers (to which BGP negotiates Azure's 60/180 s down)."""
    return Scenario(
        name=name,
        topology="vpn-active-standby",
        summary=summary,
        fault=lambda net: _takeover(net, name, delay_key, why),
        params={"vpngw.keepalive_s": 10, "vpngw.hold_s": 30},
        expect=lambda net, t: _taken_over(net, t, name, delay_key),
        trials=3,
        deadline_s=lambda p: p[delay_key] + p["vpngw.keepalive_s"] + 20,
    )


def probe_directions(net: Topology) -> tuple[str, str]:
    """The two probe directions, on-prem to Azure first (``h1->vm1``, ``vm1->h1``)."""
    a, b = net.endpoints
    return f"{a}->{b}", f"{b}->{a}"


def fallback(net: Topology, circuits_down: int, needs: str) -> str:
    """The path prefix traffic takes once the ``circuits_down`` preferred circuits are gone:
    the next circuit's (``fra-``), else the VPN's (``vpn-tunnel``); or one sentence saying the
    network has neither."""
    if circuits_down < len(net.circuits):
        return net.circuit_named(circuits_down, needs)[0] + "-"
    if net.tunnels:
        return net.tunnels[0].label.rstrip("0123456789")
    raise TestbedError(f"{needs} needs somewhere for traffic to go, but {net.name} has no other circuit and no VPN: "
                       "run it on a network with both (networks/hybrid.yaml).")


def flows_only_on(t: "Trial", window: str, prefix: str, direction: str | None = None) -> Verdict:
    """Every measured flow (of one direction, or both) took a path whose name starts with
    ``prefix`` (``er-``, ``vpn-``) in ``window`` (before / during / after the fault)."""
    seen = [(d.direction, f.flow, f.paths.get(window)) for d in t.directions.values() for f in d.flows
            if direction in (None, d.direction)]
    off = [(dn, fl, p) for dn, fl, p in seen if not (p or "").startswith(prefix)]
    where = f" {direction}" if direction else ""
    if not seen:
        return Verdict(False, f"no{where} flow measured {window} the fault")
    if off:
        dn, fl, p = off[0]
        return Verdict(False, f"{len(off)}{where} flow(s) not on {prefix}* {window} the fault "
                              f"(flow {fl} {dn} on {p})")
    return Verdict(True, f"all{where} flows on {prefix}* {window} the fault")
