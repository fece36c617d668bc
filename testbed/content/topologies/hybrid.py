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
"""
from __future__ import annotations

from testbed.model.params import Params
from testbed.model.topo import Topology, subnets
from testbed.content.topologies import expressroute, vpn


def build(p: Params) -> Topology:
    t = Topology("hybrid", p)
    expressroute.add_onprem(t, p)
    expressroute.add_vnet(t, p)
    gw_links = list(subnets(p["vnet.gateway_subnet"], 30))
    expressroute.add_expressroute(t, p, gw_links)
    expressroute.add_interconnects(t, p)
    vpn.add_vpn(t, p, gw_links[1:])
    expressroute.add_expectations(t, p)
    vpn.add_expectations(t, p, vpn_primary=False)
    expressroute.add_reach(t)
    return t
