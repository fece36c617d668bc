"""The tunnels' nftables MSS clamp (testbed.daemons.ipsec), as text (no root needed)."""
from testbed.daemons.ipsec import MSS_TABLE, mss_clamp_rules


def test_the_clamp_lowers_the_mss_of_syns_into_a_tunnel_and_never_raises_it():
    rules = mss_clamp_rules(1350)
    assert f"table inet {MSS_TABLE} {{" in rules and "hook forward" in rules
    assert 'oifname "ipsec*" tcp flags syn tcp option maxseg size > 1350 tcp option maxseg size set 1350' in rules
    # nft 1.0.6 refuses a one-line table ("unexpected '}'"): one statement per line
    assert all(line.count("{") + line.count("}") <= 1 for line in rules.splitlines())


def test_dataplane_is_read_from_charons_log_not_assumed():
    from testbed.daemons.strongswan import dataplane
    libipsec = ("00[LIB] created TUN device: ipsec0\n"
                "00[LIB] loaded plugins: charon random nonce openssl kernel-libipsec kernel-netlink socket-default vici\n")
    assert dataplane(libipsec) == "kernel-libipsec (userspace ESP over TUN)"
    assert dataplane(libipsec.splitlines()[1]) == "kernel-libipsec, but no TUN device created"
    assert dataplane("00[LIB] loaded plugins: charon openssl kernel-netlink socket-default\n") == "kernel XFRM (kernel-netlink)"
    assert dataplane("00[LIB] loaded plugins: charon openssl socket-default\n").startswith("none")
    assert dataplane("").startswith("unknown")
