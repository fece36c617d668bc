"""Hybrid with VPN fallback: ExpressRoute carries the traffic, the S2S VPN takes over when it fails.

::

    h1 --- core --+-- ce1 ==ER primary==== msee1 --+
                  +-- ce2 ==ER secondary== msee2 --+-- ergw --+
                  +-- vpn1 --- inet ---+-- vpngw0 ------------+-- vnet --- vm1
                                       +-- vpngw1 ------------+

- ce1/ce2 and msee1/msee2 are joined by iBGP links, as in the ``expressroute`` topology.
- Azure: longest prefix match first; for an identical prefix, ExpressRoute over VPN (the VNet
  weighs routes from the ExpressRoute gateway above those from the VPN gateway).
- On-prem: local preference 150 on routes learned over ExpressRoute against 100 over the VPN.
- With everything up, h1 <-> vm1 takes ExpressRoute both ways (load-shared over both links);
  with both ER links gone it takes the VPN (over both tunnels); when ER comes back it returns.
- Paths told apart: ``er-primary``, ``er-secondary``, ``vpn-tunnel0``, ``vpn-tunnel1``.
"""
from __future__ import annotations

from testbed.azure import expressroute, onprem, vnet, vpngateway
from testbed.model.params import Params, disjoint
from testbed.model.topo import Topology

RANGES = ["onprem.prefix", "er.peering_subnet", "msee.backbone", "vnet.prefix", "inet.prefix"]


def validate(p: Params) -> None:
    onprem.validate(p)
    vnet.validate(p)
    expressroute.validate(p)
    vpngateway.validate(p)
    disjoint(p, RANGES)


def build(p: Params) -> Topology:
    t = Topology("hybrid", p)
    onprem.add_onprem(t, p)
    vnet.add_vnet(t, p)
    expressroute.add_expressroute(t, p)
    expressroute.add_interconnects(t, p)
    vpngateway.add_vpn(t, p)
    expressroute.add_expectations(t, p)
    vpngateway.add_expectations(t, p, vpn_primary=False)
    vnet.add_reach(t)
    return t
