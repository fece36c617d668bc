"""Azure's side: the builders of the reference networks (ExpressRoute, VPN gateway, VNet, and the
on-prem side they connect), their parameter checks, Azure's own behaviours, and conformance lint
(docs/azure.md).
"""
