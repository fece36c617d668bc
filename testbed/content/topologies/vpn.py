"""Site-to-site VPN: IPsec/IKEv2 to an active-active Azure VPN gateway, BGP over both tunnels.

::

    h1 --- core --- vpn1 ====tunnel 0 (ipsec0)====+                +--- vpngw0 ---+
    (on-prem LAN)    |   \\                        \\              /               +--- vnet --- vm1
                     |    +--- inet (the internet: outer IPsec) --+--- vpngw1 ---+
                     |         ====tunnel 1 (ipsec1)============================/
      AS onprem.asn (65020)                                  AS vpngw.asn (65515)

- Two gateway instances, each with its own public address and its own tunnel and BGP session
  (active-active); IKEv2 with a pre-shared key generated per run, Azure's default proposals,
  DPD 45 s, tunnel MTU 1,400 and TCP MSS clamped to 1,350.
- BGP peers on APIPA addresses (169.254.21.x / 169.254.22.x) by default: on-prem initiates, the
  gateways are passive; each side routes the peer's /32 through its TUN device and uses eBGP
  multihop. Keepalive 60 / hold 180, no BFD (Azure supports none on S2S VPN).
- Paths told apart: ``vpn-tunnel0``, ``vpn-tunnel1``; probes between h1 and vm1.
"""
from __future__ import annotations

from testbed.azure import onprem, vnet, vpngateway
from testbed.model.params import Params, disjoint
from testbed.model.topo import Topology

RANGES = ["onprem.prefix", "vnet.prefix", "inet.prefix"]


def validate(p: Params) -> None:
    onprem.validate(p)
    vnet.validate(p)
    vpngateway.validate(p)
    disjoint(p, RANGES)


def build(p: Params) -> Topology:
    t = Topology("vpn", p)
    onprem.add_onprem(t, p)
    vnet.add_vnet(t, p)
    vpngateway.add_vpn(t, p)
    vpngateway.add_expectations(t, p, vpn_primary=True)
    vnet.add_reach(t)
    return t
