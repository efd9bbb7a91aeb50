"""Hard classes and ``sys`` variables against cf-agent 3.21 on this host.

Both agents look at the same kernel; what differs by design is listed where it is
skipped: time classes (the two runs may straddle a minute), the host-key class
(each workdir has its own key), vigil's own class and ``sys.vigil_*`` variables.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest

from engine.eval._netinfo import LazyData
from engine.eval.hardclasses import discover, key_digest
from engine.eval.values import Data
from tests.cfengine import requires_cfengine
from tests.differential import run_cf

_TIME = re.compile(r"^(GMT_)?(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Day\d+|"
                   r"January|February|March|April|May|June|July|August|September|October|"
                   r"November|December|Yr\d+|Hr\d+(_Q\d)?|Q\d|Min\d+(_\d+)?|Night|Morning|"
                   r"Afternoon|Evening|Lcycle_\d)$")
# Scalars and arrays that must agree exactly (workdir paths and times excluded).
_SCALARS = ("arch", "class", "os", "ostype", "flavor", "flavour", "release", "version", "long_arch",
            "cpus", "fqhost", "uqhost", "host", "domain", "interface", "ipv4", "cf_version",
            "cf_version_release", "os_name_human", "os_version_major")
_LISTS = ("interfaces", "hardware_addresses", "hardware_flags", "ip_addresses")
# Arrays (``sys.ipv4[eth0]`` is checked by the test of ``sys.ipv4_3`` and the unit tests:
# mergedata cannot tell the array from the scalar ``sys.ipv4``).
_ARRAYS = ("hardware_mac", "interface_flags", "ipv4_1", "ipv4_2", "ipv4_3", "ip2iface")

_POLICY = """
bundle agent main {
vars:
  "names" slist => variablesmatching("default:sys\\..*");
  "dump[$(names)]" string => format("%S", "$(names)");
  "all" data => mergedata("dump");
  "arrays" data => mergedata('{ "hardware_mac": sys.hardware_mac, "interface_flags": sys.interface_flags,
    "ipv4_1": sys.ipv4_1, "ipv4_2": sys.ipv4_2, "ipv4_3": sys.ipv4_3, "ip2iface": sys.ip2iface }');
  "hard" slist => classesmatching(".*", "hardclass");
reports:
  "JSON $(with)" with => storejson("all");
  "ARRAYS $(with)" with => storejson("arrays");
  "CLASS $(hard)";
}
"""


@pytest.fixture(scope="module")
def cf_view(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], dict[str, str], dict[str, object]]:
    tmp = tmp_path_factory.mktemp("hardclasses")
    policy = tmp / "dump.cf"
    policy.write_text(_POLICY)
    out = run_cf(policy, tmp / "cfw", "-K")
    classes = {line[len("R: CLASS "):] for line in out.stdout.splitlines() if line.startswith("R: CLASS ")}
    blob = out.stdout.split("R: JSON ", 1)[1].split("\nR: ARRAYS ", 1)[0]
    dump = {k.removeprefix("default:sys."): v for k, v in json.loads(blob).items()}
    arrays = json.loads(out.stdout.split("R: ARRAYS ", 1)[1].split("\nR: CLASS", 1)[0])
    return classes, dump, arrays


def _cf_list(text: str) -> list[str]:
    """A list as ``format("%S")`` prints it: ``{ "a", "b" }``."""
    return re.findall(r'"((?:[^"\\]|\\.)*)"', text)


def _vigil_view(tmp: Path) -> tuple[set[str], dict[str, object]]:
    return discover(tmp)


@requires_cfengine
def test_hard_classes_match(cf_view, tmp_path):
    cf_classes, _, _ = cf_view
    ours, _ = _vigil_view(tmp_path)
    # cf-agent's run adds these from its options and its own key; ours has no key here.
    cf_only_by_design = {c for c in cf_classes if c.startswith("PK_") or c == "opt_dry_run"}
    missing = {c for c in cf_classes - ours - cf_only_by_design if not _TIME.match(c)}
    extra = {c for c in ours - cf_classes if not _TIME.match(c)} - {"vigil"}
    assert not missing, f"cf-agent defines, vigil does not: {sorted(missing)}"
    assert not extra, f"vigil defines, cf-agent does not: {sorted(extra)}"


@requires_cfengine
def test_sys_scalars_lists_and_arrays_match(cf_view, tmp_path):
    _, cf, cf_arrays = cf_view
    _, ours = _vigil_view(tmp_path)
    for name in _SCALARS:
        if name in cf:
            assert ours.get(name) == cf[name], name
    for name in _LISTS:
        if name in cf:
            assert ours.get(name) == _cf_list(cf[name]), name
    for base in _ARRAYS:
        theirs = {f"{base}[{k}]": v for k, v in cf_arrays.get(base, {}).items()}
        mine = {k: v for k, v in ours.items() if k.startswith(base + "[")}
        assert mine == theirs, base


@requires_cfengine
def test_network_data_containers_match(cf_view, tmp_path):
    """Routes and addresses agree exactly; counters only in their keys (they move)."""
    _, cf, _ = cf_view
    _, ours = _vigil_view(tmp_path)
    for name in ("inet", "inet6", "interfaces_data", "os_release"):
        assert (name in cf) == (name in ours), name
    if "inet" in cf:
        theirs, mine = json.loads(cf["inet"]), ours["inet"].value  # type: ignore[attr-defined]
        assert {k: v for k, v in mine.items() if k != "stats"} == \
            {k: v for k, v in theirs.items() if k != "stats"}
        assert {s: set(v) for s, v in mine["stats"].items()} == {s: set(v) for s, v in theirs["stats"].items()}
    if "inet6" in cf:
        theirs, mine = json.loads(cf["inet6"]), ours["inet6"].value  # type: ignore[attr-defined]
        assert mine["addresses"] == theirs["addresses"]
        assert mine["routes"] == theirs["routes"]
        assert set(mine["stats"]) == set(theirs["stats"])
    if "interfaces_data" in cf:
        theirs, mine = json.loads(cf["interfaces_data"]), ours["interfaces_data"].value  # type: ignore[attr-defined]
        assert {k: set(v) for k, v in mine.items()} == {k: set(v) for k, v in theirs.items()}
    if "os_release" in cf:
        assert ours["os_release"] == Data(json.loads(cf["os_release"]))


def test_key_digest_is_the_trust_fingerprint(tmp_path):
    pytest.importorskip("cryptography")
    from engine.trust.keys import generate

    fp = generate(tmp_path / "ppkeys")
    assert key_digest(str(tmp_path / "ppkeys" / "vigil.pub")) == fp
    classes, sys_vars = discover(tmp_path)
    assert sys_vars["key_digest"] == fp
    assert "PK_SHA256_" + re.sub(r"[^A-Za-z0-9_]", "_", fp.split(":", 1)[1]) in classes


def test_no_key_no_digest(tmp_path):
    classes, sys_vars = discover(tmp_path)
    assert "key_digest" not in sys_vars
    assert not any(c.startswith("PK_") for c in classes)
    assert key_digest(str(tmp_path / "missing.pub")) is None


def test_component_class():
    assert "agent" in discover("/nonexistent")[0]
    got = discover("/nonexistent", component="common")[0]
    assert "common" in got and "agent" not in got


def test_lazy_data_is_read_once_and_behaves_as_data():
    calls: list[int] = []

    def load() -> dict[str, int]:
        calls.append(1)
        return {"a": 1}

    lazy = LazyData(load)
    assert calls == []
    assert lazy.value == {"a": 1} and lazy.to_json() == '{"a":1}'
    assert lazy == Data({"a": 1})
    assert pickle.loads(pickle.dumps(lazy)) == Data({"a": 1})
    assert calls == [1]
