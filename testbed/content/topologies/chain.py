"""A chain of N eBGP routers between two hosts: how big a topology fits (``testbed bench``).

::

    h1 --- r1 --- r2 --- ... --- rN --- h2
          AS 4200000001 ...  AS 4200000000+N   (private 4-byte ASNs, one per router)

- Every router runs the daemons the Azure topologies' routers run (zebra, staticd, bgpd, bfdd)
  and speaks eBGP to its neighbours on a /30; r1 originates h1's LAN, rN h2's.
- Converged when every session is Established and r1 has h2's LAN and rN h1's in the kernel
  FIB (routes that crossed every hop); up to 63 routers also when the hosts reach each other
  (a ping leaves with Linux's default TTL of 64: it cannot cross more routers).
"""
from __future__ import annotations

from testbed.errors import TestbedError
from testbed.model.addressing import Pool
from testbed.model.params import Param, Params, disjoint
from testbed.model.topo import FibExpectation, Topology

PARAMS = {
    "chain.routers": Param(8, "routers in the chain (2 to 4096)"),
    "chain.links": Param("10.200.0.0/16", "pool for the chain's /30 router-to-router links"),
    "chain.lans": Param("10.201.0.0/16", "pool for the two hosts' /24 LANs"),
}
ASN_BASE = 4_200_000_000  # RFC 6996 private 4-byte ASNs
MAX_PING_HOPS = 63         # net.ipv4.ip_default_ttl (64) - 1


def validate(p: Params) -> None:
    n = p["chain.routers"]
    if not 2 <= n <= 4096:
        raise TestbedError(f"chain.routers is {n}: a chain needs 2 to 4096 routers (the /30 pool's size).")
    disjoint(p, ["chain.links", "chain.lans"])


def build(p: Params) -> Topology:
    n = p["chain.routers"]
    t = Topology("chain", p, endpoints=("h1", "h2"))
    links = Pool("chain.links", p.net("chain.links"), 30)
    lans = Pool("chain.lans", p.net("chain.lans"), 24)
    names = [f"r{i}" for i in range(1, n + 1)]
    for i, name in enumerate(names, start=1):
        t.router(name, asn=ASN_BASE + i, role="chain", router_id=f"10.255.{i // 256}.{i % 256}")
    for a, b in zip(names, names[1:]):
        t.ebgp(t.link(a, b, links.subnet(f"{a}-{b}"), label=f"{a}-{b}"), f"{a}-{b}")
    for host, router in (("h1", names[0]), ("h2", names[-1])):
        lan = lans.subnet(f"{host}-lan")
        t.host(host, role="chain").gateway = str(lan.network_address + 1)
        t.link(host, router, lan, label=f"{host}-lan", a_host=10, b_host=1)
        t.routers[router].networks.append(str(lan))
    far = {names[0]: t.routers[names[-1]].networks[0], names[-1]: t.routers[names[0]].networks[0]}
    t.fib += [FibExpectation(router, prefix) for router, prefix in far.items()]
    if n <= MAX_PING_HOPS:
        t.reach += [("h1", t.address("h2")), ("h2", t.address("h1"))]
    return t
