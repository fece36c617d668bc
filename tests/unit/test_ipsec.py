"""The tunnels' nftables MSS clamp (testbed.daemons.ipsec), as text (no root needed)."""
from testbed.daemons.ipsec import MSS_TABLE, mss_clamp_rules


def test_the_clamp_lowers_the_mss_of_syns_into_a_tunnel_and_never_raises_it():
    rules = mss_clamp_rules(1350)
    assert f"table inet {MSS_TABLE} {{" in rules and "hook forward" in rules
    assert 'oifname "ipsec*" tcp flags syn tcp option maxseg size > 1350 tcp option maxseg size set 1350' in rules
    # nft 1.0.6 refuses a one-line table ("unexpected '}'"): one statement per line
    assert all(line.count("{") + line.count("}") <= 1 for line in rules.splitlines())
