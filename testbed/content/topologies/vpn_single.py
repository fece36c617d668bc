"""Site-to-site VPN to a single gateway instance: one tunnel, one BGP session.

::

    h1 --- core --- vpn1 ====tunnel 0 (ipsec0)====+
    (on-prem LAN)    |                              \\
                     +--- inet (the internet) -------+--- vpngw0 --- vnet --- vm1
      AS onprem.asn (65020)                      AS vpngw.asn (65515)

- One gateway instance with its own public address, tunnel and BGP session (APIPA by
  default); everything else as in ``vpn``.
- Paths told apart: ``vpn-tunnel0``; probes between h1 and vm1.
"""
from __future__ import annotations

from testbed.azure import onprem, vnet, vpngateway
from testbed.model.params import Params, disjoint
from testbed.model.topo import Topology


def validate(p: Params) -> None:
    onprem.validate(p)
    vnet.validate(p)
    vpngateway.validate(p)
    disjoint(p, ["onprem.prefix", "vnet.prefix", "inet.prefix"])


def build(p: Params) -> Topology:
    t = Topology("vpn-single", p)
    onprem.add_onprem(t, p)
    vnet.add_vnet(t, p)
    vpngateway.add_vpn(t, p, instances=1)
    vpngateway.add_expectations(t, p, vpn_primary=True)
    vnet.add_reach(t)
    return t
