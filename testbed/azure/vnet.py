"""VNets: Azure's SDN router for each (AS 65515) with a VM per subnet; gateways attach to a
hub's router. A spoke peers with its hub and uses the hub's gateways (gateway transit): the hub
reflects what the gateways learn to its spokes and the spokes' space to the gateways, but never
one spoke's space to another, since VNet peering is not transitive (docs/azure.md#hub-and-spoke)."""
from __future__ import annotations

from testbed.azure.addressing import RouterIds, subnet
from testbed.errors import TestbedError
from testbed.model.network.schema import Vnet
from testbed.model.params import Params, network
from testbed.model.topo import RouteMap, Topology


def validate(p: Params) -> None:
    subnet, prefix = network(p, "vnet.subnet"), network(p, "vnet.prefix")
    if not subnet.subnet_of(prefix):
        raise TestbedError(f"vnet.subnet {subnet} is not inside vnet.prefix {prefix}: fix one of them.")
    network(p, "vnet.gateway_subnet")


def add_vnet(t: Topology, p: Params, v: Vnet, ids: RouterIds) -> None:
    t.router(v.name, asn=p["ergw.asn"], role="azure", router_id=ids.take("10.255.1.1", "10.255.1.0/24"),
             networks=[str(n) for n in v.space(p)], maximum_paths=2)
    for sn in v.subnet_list(p):
        for vm in sn.vms:
            # Azure reserves the first four addresses of a subnet: the first VM gets .4.
            t.host(vm, role="azure").gateway = str(sn.prefix.network_address + 1)
            t.link(vm, v.name, sn.prefix, label=f"{v.name}-{sn.name}", a_host=4, b_host=1)


def add_spoke(t: Topology, p: Params, spoke: Vnet, hub: Vnet, spokes: list[Vnet]) -> None:
    """Peer ``spoke`` with ``hub`` (its link a /30 of the hub's GatewaySubnet pool)."""
    link = t.link(hub.name, spoke.name, subnet(t, "vnet.gateway_subnet", f"{hub.name}-{spoke.name}", hub.gw_subnet(p)),
                  label=f"{hub.name}-{spoke.name}")
    others = [str(n) for s in spokes if s.name != spoke.name for n in s.space(p)]
    rm = f"TO-{spoke.name.upper()}"
    t.routers[hub.name].route_maps.append(RouteMap(rm, deny=others))
    t.ebgp(link, link.label, a_opts={"rr_client": True, "next_hop_self": True, "next_hop_self_force": True,
                                     "route_map_out": rm}, b_opts={})


def reflect(t: Topology, hub: str) -> None:
    """The hub passes spoke routes on to its gateways with itself as next hop."""
    for n in t.routers[hub].neighbors:
        if not n.rr_client:
            n.next_hop_self = n.next_hop_self_force = True


def add_reach(t: Topology, onprem: str, azure: str) -> None:
    """The probe pair (on-prem first) and the pings that convergence waits for."""
    t.endpoints = (onprem, azure)
    t.reach += [(onprem, t.address(azure)), (azure, t.address(onprem))]
