"""Lab 3: BFD toward the MSEEs, and what it changes when a link fails silently."""
from testbed.labs import checks as labchecks
from testbed.labs.lab import Lab, Task

VNET, ONPREM = "10.10.0.0/16", "10.20.0.0/16"
REACTION_S = 0.6   # after BFD's detection: BGP withdraws, the next router's BGP and zebra follow


def bfd(router: str, label: str):
    def check(net) -> list[str]:
        p = net.topo.params
        return labchecks.bfd_up(net, router, label, p["bfd.interval_ms"], p["bfd.multiplier"])
    return check


def silent_failure_moves_traffic(net) -> list[str]:
    """Blackhole the ER primary (carrier stays up) and time until each end stops using it."""
    p = net.topo.params
    bound = p["bfd.interval_ms"] * p["bfd.multiplier"] / 1000 + REACTION_S
    times, wrong = labchecks.silent_failure(
        net, "er-primary", [("ce1", VNET, "er-primary"), ("msee1", ONPREM, "er-primary")], within_s=bound + 1)
    for node, what in (("ce1", "on-prem -> Azure (ce1)"), ("msee1", "Azure -> on-prem (msee1)")):
        if node not in times:
            continue
        t = times[node]
        if t is None:
            wrong.append(f"{what}: traffic still took the silent ER primary {bound + 1:.1f} s after it failed; "
                         f"BGP alone waits for its hold timer ({p['msee.hold_s']} s)")
        elif t > bound:
            wrong.append(f"{what}: traffic moved after {t:.2f} s, more than BFD's {bound:.1f} s")
    return wrong


LAB = Lab(
    title="BFD toward the MSEEs",
    topology="expressroute",
    # the edge routers stand alone, as in the README, and start without BFD (the model says so too)
    params={"er.ce_interconnect": False, "onprem.bfd": False},
    tasks=[
        Task("ce1 runs BFD with msee1 at 300 ms x 3, and BGP follows it", bfd("ce1", "er-primary"),
             hint="The MSEE already offers BFD (300 ms x 3). On ce1: a 'bfd' section with a profile "
                  "(transmit-interval, receive-interval, detect-multiplier), then under router bgp 65020 "
                  "'neighbor 192.168.100.130 bfd profile NAME'. 'show bfd peers' shows the session."),
        Task("ce2 runs BFD with msee2 at 300 ms x 3, and BGP follows it", bfd("ce2", "er-secondary"),
             hint="The same on ce2, for its neighbor 192.168.100.134."),
        Task("a silent failure of the ER primary moves traffic to the secondary within a second or so",
             silent_failure_moves_traffic,
             hint="The check drops everything on ce1's ER interface (the link stays up, as in a gray failure) "
                  "and times how long ce1 and msee1 keep forwarding over it. Without BFD only the BGP "
                  "hold timer notices: 'show bgp neighbors 192.168.100.130' shows the timers."),
    ],
)
