"""The VNet: Azure's SDN router (AS 65515) and a VM in a subnet; gateways attach to ``vnet``."""
from __future__ import annotations

from testbed.errors import TestbedError
from testbed.model.params import Params, network
from testbed.model.topo import Topology


def validate(p: Params) -> None:
    subnet, prefix = network(p, "vnet.subnet"), network(p, "vnet.prefix")
    if not subnet.subnet_of(prefix):
        raise TestbedError(f"vnet.subnet {subnet} is not inside vnet.prefix {prefix}: fix one of them.")
    network(p, "vnet.gateway_subnet")


def add_vnet(t: Topology, p: Params) -> None:
    subnet = p.net("vnet.subnet")
    # Azure reserves the first four addresses of a subnet: the first VM gets .4.
    t.host("vm1", role="azure").gateway = str(subnet.network_address + 1)
    t.router("vnet", asn=p["ergw.asn"], role="azure", router_id="10.255.1.1",
             networks=[p["vnet.prefix"]], maximum_paths=2)
    t.link("vm1", "vnet", subnet, label="vnet-subnet", a_host=4, b_host=1)


def add_reach(t: Topology, onprem: str = "h1", azure: str = "vm1") -> None:
    """The probe pair (on-prem first) and the pings that convergence waits for."""
    t.endpoints = (onprem, azure)
    t.reach += [(onprem, t.address(azure)), (azure, t.address(onprem))]
