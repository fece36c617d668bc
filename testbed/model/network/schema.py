"""The network file's typed model: what a user writes to rehearse their own hybrid network.

Every field left out takes Azure's value or the reference network's (a parameter, so ``--set``
still reaches it): the three reference networks are files of this model that set almost
nothing. ``testbed schema`` prints the JSON Schema of ``NetworkFile`` for editor completion.
Only structure and addresses live here; how the emulated Azure behaves (timers, BFD, limits)
stays in the parameters, which a file may set in ``params``.
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from testbed.model.params import Params

# A node name becomes a namespace and the stem of its interface names (``name-eth9`` must fit
# Linux's 15 characters), so at most 10 characters.
NodeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,9}$")]
IfName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$")]
Label = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
Asn = Annotated[int, Field(ge=1, le=4294967295)]


class Strict(BaseModel):
    """A key the model does not know is an error: a typo must not fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(Strict):
    """One end of a link on a node: its interface name and address (both optional)."""

    node: NodeName
    interface: IfName | None = Field(None, description="interface name (default: NODE-ethN)")
    address: IPv4Interface | None = Field(None, description="address with prefix length (default: from the subnet)")


class OnpremRouter(Strict):
    name: NodeName
    asn: Asn | None = Field(None, description="AS number (default: onprem.asn of the file or the parameter)")
    router_id: IPv4Address | None = Field(None, description="BGP router id (default: one of 10.255.0.0/24)")
    loopbacks: list[IPv4Interface] = Field([], description="addresses on lo, for example the BGP source of a VPN device")
    maximum_paths: int = Field(2, ge=1, le=64, description="BGP multipath (ECMP) in the config the testbed writes")
    config: str | None = Field(None, description="your FRR config for this router, run as written (path relative to this file)")


class Host(Strict):
    name: NodeName
    router: NodeName = Field(description="the router the host's LAN attaches to")
    subnet: IPv4Network | None = Field(None, description="the LAN (default: onprem.lan); the router takes .1, the host .10")


class Site(Strict):
    name: Label
    address_space: list[IPv4Network] | None = Field(None, description="what the site advertises (default: onprem.prefix)")
    originator: NodeName | None = Field(None, description="the router that originates the address space (default: the site's first)")
    routers: list[OnpremRouter] = Field(min_length=1)
    hosts: list[Host] = []

    def space(self, p: Params) -> list[IPv4Network]:
        return list(self.address_space) if self.address_space is not None else [p.net("onprem.prefix")]

    def origin(self) -> str:
        return self.originator or self.routers[0].name


class OnpremLink(Strict):
    """A link between two on-prem routers; they run BGP over it (iBGP in one AS)."""

    endpoints: tuple[Endpoint, Endpoint]
    subnet: IPv4Network | None = Field(None, description="the link's subnet (default: a /30 of onprem.links)")
    label: Label | None = Field(None, description="the name faults and paths use (default: A-B)")


class Onprem(Strict):
    asn: Asn | None = Field(None, description="the AS of every on-prem router that names none (default: onprem.asn)")
    sites: list[Site] = Field(min_length=1)
    links: list[OnpremLink] = []


class CircuitEnd(Strict):
    """The on-prem router (customer edge) that terminates one link of a circuit."""

    router: NodeName
    interface: IfName | None = None


class Circuit(Strict):
    """An ExpressRoute circuit with private peering on two links (primary, secondary), each to
    its own Microsoft edge router (docs/azure.md#expressroute-private-peering)."""

    name: Label = Field(description="the links are NAME-primary and NAME-secondary")
    peering_location: str = Field("", description="where the circuit lands (a label: one circuit per location)")
    sku: Literal["standard", "premium"] = Field("standard", description="premium raises the prefix limit to 10,000")
    peering_subnet: IPv4Network | None = Field(None, description="a /29 split in two /30s (default: er.peering_subnet)")
    primary_subnet: IPv4Network | None = Field(None, description="the primary /30 (instead of peering_subnet)")
    secondary_subnet: IPv4Network | None = Field(None, description="the secondary /30 (instead of peering_subnet)")
    md5_key_file: str | None = Field(None, description="a file holding the BGP MD5 key both sides use")
    bfd: bool = Field(True, description="the customer edges run BFD toward the MSEEs")
    local_pref: int | None = Field(None, ge=0, description="on-prem's local preference for routes over this circuit (default: onprem.er_local_pref)")
    primary: CircuitEnd
    secondary: CircuitEnd

    def subnets(self, p: Params) -> tuple[IPv4Network, IPv4Network]:
        """(primary, secondary) /30s: the two given, or the /29 split in two."""
        if self.primary_subnet and self.secondary_subnet:
            return self.primary_subnet, self.secondary_subnet
        whole = self.peering_subnet or p.net("er.peering_subnet")
        halves = list(whole.subnets(new_prefix=30)) if whole.prefixlen <= 30 else [whole, whole]
        return halves[0], halves[1]

    def ends(self) -> tuple[tuple[str, CircuitEnd], tuple[str, CircuitEnd]]:
        return ("primary", self.primary), ("secondary", self.secondary)


class ErConnection(Strict):
    circuit: Label
    routing_weight: int = Field(0, ge=0, le=32000, description="the gateway prefers the circuit with the higher weight")


class ErGateway(Strict):
    """An ExpressRoute gateway: instances NAME0 and NAME1 (ergw.instances), each peering with
    every MSEE of its connections (docs/azure.md#expressroute-gateway); the file names the
    gateway, never an instance."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,8}$")] = "ergw"
    vnet: NodeName = "vnet"
    connections: list[ErConnection] = Field(min_length=1)


class ExpressRoute(Strict):
    circuits: list[Circuit] = Field(min_length=1)
    gateways: list[ErGateway] = Field(min_length=1)
    ce_interconnect: bool | None = Field(None, description="the two edges of a circuit run iBGP over a direct link (default: er.ce_interconnect)")


class VpnGateway(Strict):
    """A VPN gateway: active-active, instances NAME0 and NAME1 with a public address and a BGP
    address each; or active-standby, NAME0 active and NAME1 its standby, which takes over the
    same addresses (docs/azure.md#site-to-site-vpn-gateway, docs/azure.md#active-standby)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,8}$")] = "vpngw"
    vnet: NodeName = "vnet"
    asn: Asn | None = Field(None, description="default: vpngw.asn (65515)")
    bgp_peering: Literal["apipa", "gatewaysubnet"] | None = Field(None, description="default: vpn.bgp_peering")
    instances: int | None = Field(None, ge=1, le=2, description="active instances, 2: active-active; 1: active-standby (default: vpngw.instances)")
    standby: bool | None = Field(None, description="with one active instance, a standby that takes over; false: none, not an Azure configuration (default: vpngw.standby)")
    bgp_addresses: list[IPv4Address] | None = Field(
        None, min_length=1, max_length=2,
        description="each instance's BGP address: GatewaySubnet addresses or custom APIPA (169.254.21.0-169.254.22.255)")


class LocalGateway(Strict):
    """Azure's view of the on-prem VPN device: the router it is, its BGP address and AS."""

    name: Label
    router: NodeName
    bgp_address: IPv4Address | None = Field(
        None, description="the device's BGP address, one for every tunnel (a loopback, say); default: one per tunnel")
    asn: Asn | None = Field(None, description="default: the router's AS")
    address_space: list[IPv4Network] = Field([], description="static prefixes behind the device (with BGP, usually none)")


class VpnConnection(Strict):
    name: Label = Field("vpn", description="its tunnels are NAME-tunnel0 and NAME-tunnel1")
    gateway: str = "vpngw"
    local_gateway: Label
    shared_key_file: str | None = Field(None, description="default: a fresh key per run (vpn.psk_file)")
    dpd_timeout_s: int | None = Field(None, ge=9, le=3600, description="default: vpn.dpd_timeout_s (45)")
    ike_proposal: str | None = Field(None, description="a custom IKE policy, the only one the gateway accepts (default: Azure's list)")
    esp_proposal: str | None = Field(None, description="a custom IPsec policy, the only one the gateway accepts (default: Azure's list)")


class Vpn(Strict):
    gateways: list[VpnGateway] = Field(min_length=1, max_length=1)
    local_gateways: list[LocalGateway] = Field(min_length=1, max_length=1)
    connections: list[VpnConnection] = Field(min_length=1, max_length=1)


class Subnet(Strict):
    name: Label = "subnet"
    prefix: IPv4Network
    vms: list[NodeName] = Field([], max_length=1, description="a test VM; it takes .4 (Azure reserves the first four)")


class Vnet(Strict):
    """A VNet: Azure's router for it (AS 65515), its subnets and VMs. A spoke names its hub and
    uses the hub's gateways (gateway transit); spokes do not reach each other."""

    name: NodeName = "vnet"
    address_space: list[IPv4Network] | None = Field(None, description="default: vnet.prefix")
    subnets: list[Subnet] | None = Field(None, description="default: one subnet vnet.subnet with vm1")
    gateway_subnet: IPv4Network | None = Field(None, description="default: vnet.gateway_subnet")
    hub: NodeName | None = Field(None, description="the hub VNet this spoke peers with (gateway transit)")

    def space(self, p: Params) -> list[IPv4Network]:
        return list(self.address_space) if self.address_space is not None else [p.net("vnet.prefix")]

    def subnet_list(self, p: Params) -> list[Subnet]:
        return list(self.subnets) if self.subnets is not None else [Subnet(prefix=p.net("vnet.subnet"), vms=["vm1"])]

    def gw_subnet(self, p: Params) -> IPv4Network:
        return self.gateway_subnet or p.net("vnet.gateway_subnet")


class NetworkFile(Strict):
    """One hybrid network: on-prem sites, ExpressRoute circuits and gateways, a VPN, VNets."""

    name: Label
    summary: str = ""
    params: dict[str, Any] = Field({}, description="parameters, as with --set (which wins over these)")
    onprem: Onprem
    expressroute: ExpressRoute | None = None
    vpn: Vpn | None = None
    vnets: list[Vnet] = Field([Vnet()], min_length=1)
    probes: tuple[NodeName, NodeName] | None = Field(None, description="the host pair probe traffic runs between (on-prem first)")
