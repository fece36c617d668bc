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


def test_how_charon_ended_names_the_signal_that_killed_it():
    from testbed.daemons.strongswan import _exit_text
    assert _exit_text(-11) == "was killed by SIGSEGV"
    assert _exit_text(1) == "exited with status 1"
    assert _exit_text(-200) == "was killed by signal 200"


def test_a_failed_tunnel_start_points_at_the_kept_copy_of_charons_log(tmp_path, monkeypatch):
    """The run's directories go with the failed start: its message must name files that stay."""
    import tempfile
    from testbed.errors import TestbedError
    from testbed.model import catalog
    from testbed.runtime import state
    from testbed.runtime.net import Network
    monkeypatch.setattr(state, "ROOT", tmp_path / "run")
    monkeypatch.setattr(state, "WORK_ROOT", tmp_path / "work")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    net = Network(catalog.build("hybrid", {}), run="keep1")
    log = state.work_dir("keep1") / "vpngw0" / "vpn-tunnel0" / "charon.log"
    log.parent.mkdir(parents=True)
    log.write_text("00[DMN] Starting IKE charon daemon\n")
    said = str(net._pointing_at_kept_logs(TestbedError(f"tunnel vpn-tunnel0: charon was killed by SIGSEGV; see charon's log {log}.")))
    kept = said.split("see charon's log ")[1].rstrip(".")
    assert str(tmp_path / "tmp") in kept and open(kept).read().startswith("00[DMN]")
    said = str(net._pointing_at_kept_logs(TestbedError("tunnel vpn-tunnel0: not established: fix the keys.")))
    assert said.startswith("tunnel vpn-tunnel0: not established: fix the keys; the run's configs and logs are kept in ")
