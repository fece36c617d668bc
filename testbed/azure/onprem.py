"""The on-premises side of a network file: sites with their routers and hosts, and the links
between routers (iBGP within one AS, eBGP between two). The edges (the routers that
terminate a circuit or a VPN) set next-hop-self toward the rest, so the routes they learn
from Azure resolve inside the site."""
from __future__ import annotations

from testbed.azure.addressing import RouterIds, subnet
from testbed.errors import TestbedError
from testbed.model.network.schema import NetworkFile, Site
from testbed.model.params import RESERVED_ASNS, Params, network
from testbed.model.topo import Topology


def validate(p: Params) -> None:
    asn = p["onprem.asn"]
    if asn in RESERVED_ASNS:
        raise TestbedError(
            f"onprem.asn {asn} is reserved by Azure (65515-65520, 8074, 8075, 12076): "
            "choose another private ASN such as 65020."
        )
    if not 1 <= asn <= 4294967295:
        raise TestbedError(f"onprem.asn {asn} is not a valid AS number: use 1-4294967295.")
    lan, prefix = network(p, "onprem.lan"), network(p, "onprem.prefix")
    if not lan.subnet_of(prefix):
        raise TestbedError(f"onprem.lan {lan} is not inside onprem.prefix {prefix}: fix one of them.")
    if lan.overlaps(network(p, "onprem.links")):
        raise TestbedError("onprem.lan and onprem.links overlap: give them separate ranges.")


def add_site(t: Topology, p: Params, net: NetworkFile, site: Site, ids: RouterIds) -> None:
    """The site's routers and hosts; its originator advertises the address space.

    The address space is originated by a ``network`` statement alone (import-check off), not
    by a blackhole static: that would also "resolve" iBGP next hops inside the range whose link
    is gone, and traffic would be blackholed instead of rerouted.
    """
    for r in site.routers:
        t.router(r.name, asn=r.asn or net.onprem.asn or p["onprem.asn"], role="onprem",
                 router_id=ids.take(str(r.router_id) if r.router_id else None, "10.255.0.0/24"),
                 networks=[str(n) for n in site.space(p)] if r.name == site.origin() else [],
                 maximum_paths=r.maximum_paths, loopbacks=[str(lo) for lo in r.loopbacks])
    for k, h in enumerate(site.hosts):
        lan = h.subnet or p.net("onprem.lan")
        t.host(h.name, role="onprem").gateway = str(lan.network_address + 1)
        t.link(h.name, h.router, lan, label=f"{site.name}-lan" + (str(k + 1) if k else ""), a_host=10, b_host=1)


def add_links(t: Topology, p: Params, net: NetworkFile, edges: set[str]) -> None:
    """The links the file declares between on-prem routers, with BGP over each."""
    for link in net.onprem.links:
        a, b = link.endpoints
        label = link.label or f"{a.node}-{b.node}"
        l = t.link(a.node, b.node, link.subnet or subnet(t, "onprem.links", label), label=label,
                   names=(a.interface, b.interface), addrs=(a.address, b.address))
        t.ebgp(l, label, a_opts={"next_hop_self": True} if a.node in edges else {},
               b_opts={"next_hop_self": True} if b.node in edges else {})
