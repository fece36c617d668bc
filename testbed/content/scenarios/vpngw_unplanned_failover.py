"""An unplanned failure of an active-standby VPN gateway's active instance: the standby takes
over after vpngw.takeover_unplanned_s (60 s, the low end of Azure's 1-3 minutes worst case).
Meanwhile the device's BGP hold time (30 s) and dead peer detection (45 s) expire, so it finds
the tunnel and session down and brings them back to the same addresses once the new instance
answers; no stale session is left to reset."""
from testbed.trials.scenario import takeover_scenario

SCENARIO = takeover_scenario(
    "vpngw-unplanned-failover", "vpngw.takeover_unplanned_s", "unplanned failure",
    "the active instance fails: the standby takes over the tunnel after 60 s (Azure: 1-3 min)")
