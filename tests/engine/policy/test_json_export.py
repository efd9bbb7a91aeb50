"""``--json`` output against ``cf-promises -p json`` on the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.policy.json_export import dumps, policy_file_json
from engine.policy.parser import parse_file
from tests.engine.policy.conftest import MASTERFILES, CfPromises

SAMPLE = r"""body file control
{
  namespace => "ns1";
}
bundle agent main(x, y)
{
  meta:
    "tags" slist => { "a", "b", };
  files:
    "/tmp/x" perms => p, action => ns:q("a"), create => "true";
  vars:
    linux::
      "v" string => "a\"b\\c\n\td\'e\$x", comment => 'sq\'x\"';
      "l" slist => { "x", @(y), concat("a", $(b)), "${n}" , bare};
  "$(x)"::
    "w" string => `back\q`;
  files:
    "/tmp/y" create => "true";
  reports:
    "hello 'q'" -> { "p1", "p2" } handle => "h";
    "x" -> "single";
}
body perms p(m)
{
  linux::
    mode => "$(m)";
    mode => "600";
  !linux::
    owners => { "root" };
    groups => { $(m) };
}
"""


def test_shape_without_cfengine(tmp_path: Path) -> None:
    f = tmp_path / "s.cf"
    f.write_text(SAMPLE)
    doc = json.loads(dumps(parse_file(f)))
    (b,) = doc["bundles"]
    assert [t["name"] for t in b["promiseTypes"]] == ["meta", "files", "vars", "reports"]
    files = b["promiseTypes"][1]
    assert files["line"] == 17  # the last "files:" header
    assert [p["promiser"] for p in files["contexts"][0]["promises"]] == ["/tmp/x", "/tmp/y"]
    w = b["promiseTypes"][2]["contexts"][1]["promises"][0]
    assert w["attributes"][0] == {
        "line": 0,
        "lval": "ifvarclass",
        "rval": {"type": "symbol", "value": "$(x)"},
    }


@pytest.mark.cfengine
def test_same_json_as_cf_promises(tmp_path: Path, cf_promises: CfPromises) -> None:
    f = tmp_path / "s.cf"
    f.write_text(SAMPLE)
    cp = cf_promises.run("-p", "json", "-f", str(f))
    assert cp.returncode == 0, cp.stderr
    assert policy_file_json(parse_file(f)) == json.loads(cp.stdout)


@pytest.mark.cfengine
@pytest.mark.skipif(not MASTERFILES.is_dir(), reason="CFEngine masterfiles are not installed")
@pytest.mark.parametrize("name", ["lib/paths.cf", "lib/processes.cf", "controls/cf_execd.cf"])
def test_same_json_as_cf_promises_on_masterfiles(name: str, cf_promises: CfPromises) -> None:
    f = MASTERFILES / name
    cp = cf_promises.run("-p", "json", "-f", str(f))
    assert policy_file_json(parse_file(f)) == json.loads(cp.stdout)
