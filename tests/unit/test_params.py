"""Parameters: Azure defaults, overrides, and the validation that rejects what Azure rejects."""
import pytest

from testbed.errors import TestbedError
from testbed.model import catalog
from testbed.model.params import Params, load_file, parse_sets


def test_defaults_are_azure_values():
    p = Params()
    assert p["msee.asn"] == 12076 and p["ergw.asn"] == 65515 and p["ergw.instances"] == 2
    assert (p["msee.keepalive_s"], p["msee.hold_s"]) == (60, 180)
    assert (p["bfd.interval_ms"], p["bfd.multiplier"]) == (300, 3)
    assert p.prefix_limit() == 4000
    assert Params({"er.premium": "true"}).prefix_limit() == 10000


def test_the_interconnects_are_listed_as_testbed_additions():
    assert Params().additions() == {"er.ce_interconnect": True, "er.msee_interconnect": True}
    assert Params({"er.msee_interconnect": "false"}).additions()["er.msee_interconnect"] is False


def test_set_coerces_to_the_default_type():
    p = Params(parse_sets(["bfd.interval_ms=100", "onprem.bfd=off"]))
    assert p["bfd.interval_ms"] == 100 and p["onprem.bfd"] is False


@pytest.mark.parametrize("overrides, words", [
    ({"bfd.intervall_ms": "100"}, "unknown parameter 'bfd.intervall_ms'"),
    ({"bfd.interval_ms": "fast"}, "wants a int"),
    ({"onprem.asn": "65515"}, "reserved by Azure"),
    ({"onprem.asn": "12076"}, "reserved by Azure"),
    ({"onprem.keepalive_s": "1", "onprem.hold_s": "3"}, "below Azure's minimum"),
    ({"vnet.prefix": "10.20.0.0/16", "vnet.subnet": "10.20.1.0/24"}, "overlaps"),
    ({"er.peering_subnet": "192.168.100.128/30"}, "must be a /29"),
    ({"onprem.lan": "10.99.1.0/24"}, "not inside onprem.prefix"),
    ({"vnet.prefix": "10.10.0.1/16"}, "not an IPv4 prefix"),
])
def test_bad_values_get_one_clear_sentence(overrides, words):
    """Each topology validates the parameters it uses; the hybrid uses them all."""
    with pytest.raises(TestbedError) as e:
        catalog.build("hybrid", overrides)
    msg = str(e.value)
    assert words in msg and "\n" not in msg and msg.endswith(".")


def test_unknown_key_suggests_the_right_one():
    with pytest.raises(TestbedError, match="did you mean bfd.interval_ms"):
        Params({"interval_ms": 1})


def test_set_needs_key_value():
    with pytest.raises(TestbedError, match="KEY=VALUE"):
        parse_sets(["bfd.interval_ms"])


def test_params_file_toml_and_json(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text("[bfd]\ninterval_ms = 50\n[onprem]\nasn = 65001\n")
    assert Params(load_file(toml))["bfd.interval_ms"] == 50
    js = tmp_path / "p.json"
    js.write_text('{"bfd.multiplier": 5}')
    assert Params(load_file(js))["bfd.multiplier"] == 5
    bad = tmp_path / "bad.toml"
    bad.write_text("[bfd\n")
    with pytest.raises(TestbedError, match="does not parse"):
        load_file(bad)
