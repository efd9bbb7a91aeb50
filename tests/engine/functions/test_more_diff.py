"""Functions added for the acceptance suite (regex over lists, captures as data,
ranges, paths, networks, mapping, YAML, sysctl): vigil against cf-agent, one
policy for all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.eval.values import Data
from tests.cfengine import requires_cfengine
from tests.engine.functions.conftest import (
    Case,
    FnTestEnv,
    cf_results,
    vigil_result,
)

SETUP: dict[str, Any] = {
    "l": ["alpha", "beta", "gamma1"],
    "e": [],
    "d": Data({"x": "1", "y": ["2", "3"], "z": {"p": "q"}}),
    "da": Data([1, "two", True, None]),
}

CASES: list[Case] = [
    ("reglist", ["l", "gam.*"]),
    ("reglist", ["l", "gam"]),
    ("reglist", ["e", ".*"]),
    ("data_regextract", ["^(?<name>\\w+)-(\\d+)", "web-42 x"]),
    ("data_regextract", ["(\\d+)", "no digits"]),
    ("data_regextract", ["b(.)", "abc"]),
    ("expandrange", ["host[1-4].x", "1"]),
    ("expandrange", ["n[0-10]", "5"]),
    ("basename", ["/a/b/c.txt"]),
    ("basename", ["/a/b/"]),
    ("basename", ["c.txt", ".txt"]),
    ("basename", ["/"]),
    ("isipinsubnet", ["10.0.0.0/8", "10.1.2.3"]),
    ("isipinsubnet", ["10.0.0.0/8", "11.1.2.3", "10.9.9.9"]),
    ("isipinsubnet", ["192.168.1.0/24", "192.168.2.1"]),
    ("isipinsubnet", ["0.0.0.0/0", "junk"]),
    ("maparray", ["<$(this.k)=$(this.v)>", "d"]),
    ("maparray", ["$(this.k)", "da"]),
    ("mapdata", ["none", "$(this.k):$(this.v)", "d"]),
    ("mapdata", ["canonify", "$(this.k) $(this.v)", "l"]),
    ("mapdata", ["json", '{ "k": "$(this.k)" }', "da"]),
    ("parseyaml", ["a: 1\nb: [x, 'y', 2.5]\nc: {d: null}"]),
    ("parseyaml", ["- 100 200\n- '100 200'\n- 1003_x"]),
    ("makerule", ["/nonexistent/target", "/etc/passwd"]),
    ("makerule", ["/etc/passwd", "/nonexistent/source"]),
    ("filesexist", ['["/etc/passwd", "/etc/group"]']),
    ("filesexist", ['["/etc/passwd", "/nonexistent"]']),
    ("sysctlvalue", ["kernel.ostype"]),
    ("sysctlvalue", ["no.such.key"]),
]


@pytest.fixture(scope="module")
def cf(cf_workdir: Path) -> dict[int, str]:
    return cf_results(cf_workdir, CASES, SETUP, "more.cf")


@requires_cfengine
@pytest.mark.parametrize("idx", range(len(CASES)), ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_matches_cfagent(cf: dict[int, str], idx: int) -> None:
    fn, args = CASES[idx]
    assert vigil_result(FnTestEnv(SETUP), fn, args) == cf[idx], f"{fn}({args})"
