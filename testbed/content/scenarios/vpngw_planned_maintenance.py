"""Planned maintenance on an active-standby VPN gateway: the active instance goes, and its
standby takes over the public and BGP addresses after vpngw.takeover_planned_s (10 s; Azure
restores the connection in 10-15 s). The on-prem device keeps the same tunnel: its IKE SA is
replaced by the one the new instance initiates, so on-prem -> Azure flows again at once. Its
BGP session outlived the takeover and is stale: Azure -> on-prem waits until the device's next
keepalive draws a reset and the session comes back (up to a keepalive more). The timers are
the device's 10/30 s, to which BGP negotiates Azure's 60/180 s down; with 60 s the wait is a
minute."""
from testbed.trials.scenario import takeover_scenario

SCENARIO = takeover_scenario(
    "vpngw-planned-maintenance", "vpngw.takeover_planned_s", "planned maintenance",
    "planned maintenance: the standby takes over the tunnel after 10 s; Azure->on-prem waits for the device's BGP reset")
