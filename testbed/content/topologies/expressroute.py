"""ExpressRoute private peering, active-active, as Azure builds it.

::

    h1 --- core ---+--- ce1 ===ER primary==== msee1 ---+
    (on-prem LAN)  |     |                       |     +--- ergw --- vnet --- vm1
                   |     | (iBGP)         (iBGP) |     |   (65515)  (65515)  (VNet subnet)
                   +--- ce2 ===ER secondary== msee2 ---+
      AS onprem.asn (65020)        AS msee.asn (12076)

- One /29 split in two /30s: the primary link takes the first, the secondary the second; in
  each the customer (ce) takes .1 and Microsoft (msee) .2. One CE per link (Azure's HA advice).
- ce1/ce2 run eBGP with BFD to the MSEEs; core runs iBGP to both CEs and load-shares (ECMP);
  ergw takes both MSEE paths and load-shares toward on-prem: active-active in both directions.
- The CEs, and the MSEEs, are each joined by a link with iBGP (``er.ce_interconnect``,
  ``er.msee_interconnect``): the router that loses its ER link sends through its twin as soon
  as its own BGP has reacted, so one BGP speaker per direction, not two, stands between a
  failure and the traffic moving.
- MSEEs: timers 60/180, BFD 300 ms x 3, the customer prefix limit, customer communities
  ignored; VNet routes reach on-prem with AS path ``12076`` only.
- Every iBGP session over a direct link (core-ce, the interconnects, gateway-vnet) drops the
  moment its link loses carrier, as eBGP ones do (GTSM one hop: see ``Topology.ebgp``).
- Paths told apart: ``er-primary``, ``er-secondary``; probes between h1 and vm1.
"""
from __future__ import annotations

from testbed.azure import expressroute, onprem, vnet
from testbed.model.params import Params, disjoint
from testbed.model.topo import Topology

RANGES = ["onprem.prefix", "er.peering_subnet", "msee.backbone", "vnet.prefix"]


def validate(p: Params) -> None:
    onprem.validate(p)
    vnet.validate(p)
    expressroute.validate(p)
    disjoint(p, RANGES)


def build(p: Params) -> Topology:
    t = Topology("expressroute", p)
    onprem.add_onprem(t, p)
    vnet.add_vnet(t, p)
    expressroute.add_expressroute(t, p)
    expressroute.add_interconnects(t, p)
    expressroute.add_expectations(t, p)
    vnet.add_reach(t)
    return t
