"""The kernel's TcpExt counters as /proc/<pid>/net/netstat prints them (no root, fast)."""
import os

from testbed.system.netstat import md5_drops, parse

TEXT = """TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure
TcpExt: 0 0 2 7
IpExt: InNoRoutes
IpExt: 1
"""


def test_parse_reads_the_group_asked():
    assert parse(TEXT)["TCPMD5Failure"] == 7 and parse(TEXT, "IpExt") == {"InNoRoutes": 1}
    assert parse("") == {}


def test_md5_drops_of_this_process_are_the_counters_above_zero():
    assert all(v > 0 for v in md5_drops(os.getpid()).values())
