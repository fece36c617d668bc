"""An unplanned failure of an active-standby VPN gateway's active instance: the standby takes
over after vpngw.takeover_unplanned_s (60 s, the low end of Azure's 1-3 minutes worst case).
Meanwhile the device's BGP hold time (30 s) and dead peer detection (45 s) expire, so it finds
the tunnel and session down and brings them back to the same addresses once the new instance
answers; no stale session is left to reset."""
from testbed.model.topo import Topology
from testbed.results.trial import Trial
from testbed.trials.scenario import Scenario, Verdict, takeover, taken_over

NAME = "vpngw-unplanned-failover"
DELAY = "vpngw.takeover_unplanned_s"


def expect(net: Topology, t: Trial) -> Verdict:
    return taken_over(net, t, NAME, DELAY)


SCENARIO = Scenario(
    name=NAME,
    topology="vpn-active-standby",
    summary="the active instance fails: the standby takes over the tunnel after 60 s (Azure: 1-3 min)",
    fault=lambda net: takeover(net, NAME, DELAY, "unplanned failure"),
    params={"vpngw.keepalive_s": 10, "vpngw.hold_s": 30},
    expect=expect,
    trials=3,
    deadline_s=lambda p: p[DELAY] + p["vpngw.keepalive_s"] + 20,
)
