"""Tunnel 0 goes silent, as in vpn-tunnel-silent, on a device that asks for BGP timers of
10/30 s (Azure's side agrees to the lower hold time): the hold time expires before dead peer
detection (45 s) and moves the tunnel's flows to tunnel 1 (docs/azure.md#vpn-tunnel-faults)."""
from testbed.content.scenarios.vpn_tunnel_silent import silent_scenario

SCENARIO = silent_scenario(
    "vpn-tunnel-silent-hold",
    "tunnel 0 drops ESP and IKE silently, BGP 10/30 s: the hold time (before DPD) moves its flows to tunnel 1",
    {"vpngw.keepalive_s": 10, "vpngw.hold_s": 30})
