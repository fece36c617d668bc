"""testbed graph: the layered layout, the text and the PNG; and a running run's live states."""
import subprocess
import sys

import pytest

from testbed.model import catalog
from testbed.ui import graph

TESTBED = [sys.executable, "-m", "testbed.ui.cli"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TESTBED, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", catalog.names())
def test_layers_run_from_the_first_host_left_to_the_last_right(name):
    topo = catalog.build(name)
    cols = graph.layers(topo)
    column = {n: c for c, col in enumerate(cols) for n in col}
    assert sorted(column) == sorted(topo.nodes())
    first, *_, last = topo.hosts
    assert first in cols[0] and last in cols[-1]
    assert set(cols[0]) | set(cols[-1]) <= set(topo.hosts)   # hosts at both ends, routers between
    onprem = [column[n] for n in topo.nodes() if graph.role(topo, n) == "onprem"]
    azure = [column[n] for n in topo.nodes() if graph.role(topo, n) == "azure"]
    if onprem and azure:
        assert max(onprem) < min(azure)
        assert "on-premises (left) to Azure (right)" in graph.text(topo)
    for link in topo.links:   # every link joins neighbouring columns or stays within one
        assert abs(column[link.a.node] - column[link.b.node]) <= 1, link.label


def test_the_two_expressroute_legs_stay_apart():
    cols = graph.layers(catalog.build("hybrid"))
    ces = next(c for c in cols if "ce1" in c)
    msees = next(c for c in cols if "msee1" in c)
    assert ces.index("ce1") < ces.index("ce2") < ces.index("vpn1")
    assert msees.index("msee1") < msees.index("msee2") < msees.index("inet")


@pytest.mark.parametrize("name", catalog.names())
def test_text_names_every_address_asn_session_and_tunnel(name):
    topo = catalog.build(name)
    out = graph.text(topo)
    for link in topo.links:
        assert link.label in out
        assert str(link.a.addr) in out and str(link.b.addr) in out
    for r in topo.routers.values():
        assert f"{r.name} AS{r.asn}" in out
    for t in topo.tunnels:
        assert t.label in out and t.onprem_inner in out and t.azure_inner in out and t.azure_outer in out
    if any(link.label == "er-primary" for link in topo.links):
        assert "eBGP, BFD 300 ms x 3" in next(l for l in out.splitlines() if l.strip().startswith("er-primary"))


def test_text_marks_highlighted_nodes_and_live_states():
    topo = catalog.build("expressroute")
    states = {label: "Established" for label in graph.sessions(topo)} | {"er-primary": "Idle"}
    out = graph.text(topo, states, highlight=("ce1",))
    assert "ce1* AS65020" in out and "* marks ce1" in out
    er = next(line for line in out.splitlines() if line.strip().startswith("er-primary"))
    assert er.endswith("[Idle]")
    assert "[Established]" in next(line for line in out.splitlines() if line.strip().startswith("er-secondary"))


@pytest.mark.parametrize("name", catalog.names())
def test_png_is_drawn(name, tmp_path):
    out = tmp_path / f"{name}.png"
    graph.png(catalog.build(name), out, highlight=("ce1",))
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    import matplotlib.image
    pixels = matplotlib.image.imread(out)[..., :3]
    inked = (pixels.min(axis=-1) < 0.9).mean()   # share of pixels that are not (near) white
    assert inked > 0.005, f"{name}: only {inked:.2%} of the picture is drawn"


def test_cli_draws_a_topology_with_params(tmp_path):
    png = tmp_path / "er.png"
    res = tb("graph", "expressroute", "--set", "er.peering_subnet=192.168.7.0/29", "--png", str(png))
    assert res.returncode == 0, res.stderr
    assert "192.168.7.1/30" in res.stdout and "192.168.7.2/30" in res.stdout
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_cli_refuses_an_unknown_topology_in_one_sentence():
    res = tb("graph", "nosuch")
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == ["testbed: unknown topology 'nosuch': choose one of "
                                               + ", ".join(catalog.names()) + " ('testbed list'), or give a network file (net.yaml)."]
