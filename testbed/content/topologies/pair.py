"""Two hosts on one link, nothing else: the bench on which ``testbed calibrate`` checks the measurement.

::

    a ------------- cal-link ------------- b
    192.0.2.1/30                  192.0.2.2/30   (pair.link, RFC 5737 documentation range)

- No routers, no daemons: the only path is the link, so an outage injected on it
  (``Blackhole("cal-link")``, nftables inside ``a``) is exactly what the probes must measure.
- Converged once each host reaches the other (one ping each way); probes between a and b.
"""
from __future__ import annotations

from testbed.errors import TestbedError
from testbed.model.addressing import Pool
from testbed.model.params import Param, Params, network
from testbed.model.topo import Topology

PARAMS = {
    "pair.link": Param("192.0.2.0/30", "where the two hosts' /30 comes from (a /30 or larger)"),
}
LINK = "cal-link"


def validate(p: Params) -> None:
    net = network(p, "pair.link")
    if net.prefixlen > 30:
        raise TestbedError(f"pair.link is {net}: two hosts need at least a /30.")


def build(p: Params) -> Topology:
    t = Topology("pair", p, endpoints=("a", "b"))
    subnet = Pool("pair.link", p.net("pair.link"), 30).subnet(LINK)
    t.host("a", role="pair")
    t.host("b", role="pair")
    t.link("a", "b", subnet, label=LINK)
    t.reach += [("a", t.address("b")), ("b", t.address("a"))]
    return t
