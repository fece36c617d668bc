"""The reference on-premises network the Azure side connects to: host h1 on the LAN and the
core router that originates the on-prem address space; edges (CEs, the VPN device) attach to
``core``."""
from __future__ import annotations

from testbed.errors import TestbedError
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


def add_onprem(t: Topology, p: Params) -> None:
    """h1 and core.

    The address space is originated by a ``network`` statement alone (import-check off), not
    by a blackhole static: that would also "resolve" iBGP next hops inside the range whose link
    is gone, and traffic would be blackholed instead of rerouted.
    """
    lan = p.net("onprem.lan")
    t.host("h1", role="onprem").gateway = str(lan.network_address + 1)
    t.router("core", asn=p["onprem.asn"], role="onprem", router_id="10.255.0.1",
             networks=[p["onprem.prefix"]], maximum_paths=2)
    t.link("h1", "core", lan, label="onprem-lan", a_host=10, b_host=1)
