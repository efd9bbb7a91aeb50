"""List and data container functions: vigil against cf-agent, one policy for all."""

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
    "l": ["b", "10", "a", "2", "b", "1.5", "-3"],
    "ties": ["1a", "1b", "1c", "0", "1d", "2", "1e"],
    "num": ["1.5", "1.2", "x", "1", "1k", "B", "a", " 3"],
    "ips": ["10.0.0.10", "10.0.0.9", "::1", "2001:db8::1", "192.168.1.1", "x", "01.2.3.4", "1.2.3.4/24"],
    "macs": ["00:0a:00:00:00:01", "00:09:00:00:00:02", "ff:ff:ff:ff:ff:ff", "0:0:0:0:0:1", "zz"],
    "nums": ["1", "2", "3.5"],
    "e": [],
    "s": "str",
    "other": ["a", "x", "b"],
    "d": Data({"a": 1.5, "b": True, "c": None, "d": [1, 2], "e": "x", "f": 7}),
    "da": Data([1.5, True, None, [1, 2], {"k": 1}, "x", 7]),
    "obj": Data({"y": [3], "z": None, "x": 1}),
    "ord": Data({"b": 1, "a": 2, "C": 3}),
}

CASES: list[Case] = [
    ("join", [",", "l"]),
    ("join", [",", "e"]),
    ("join", [",", "s"]),
    ("join", [",", "d"]),
    ("join", ["-", "da"]),
    ("length", ["l"]),
    ("length", ["e"]),
    ("length", ["d"]),
    ("length", ["da"]),
    ("nth", ["l", "0"]),
    ("nth", ["l", "-1"]),
    ("nth", ["l", "10"]),
    ("nth", ["d", "a"]),
    ("nth", ["d", "c"]),
    ("nth", ["da", "1"]),
    ("nth", ["da", "3"]),
    ("reverse", ["l"]),
    ("reverse", ["e"]),
    ("sort", ["l", "lex"]),
    ("sort", ["l"]),
    ("sort", ["l", "int"]),
    ("sort", ["l", "real"]),
    ("sort", ["ties", "int"]),
    ("sort", ["num", "int"]),
    ("sort", ["num", "real"]),
    ("sort", ["ips", "IP"]),
    ("sort", ["macs", "MAC"]),
    ("sort", ["d", "lex"]),
    ("unique", ["l"]),
    ("unique", ["d"]),
    ("filter", ["b", "l", "false", "false", "10"]),
    ("filter", ["[ab]", "l", "true", "false", "10"]),
    ("filter", ["[ab]", "l", "true", "true", "10"]),
    ("filter", ["[ab]", "l", "true", "false", "1"]),
    ("filter", ["1", "l", "true", "false", "10"]),
    ("grep", ["[0-9]", "l"]),
    ("grep", ["1.*", "l"]),
    ("every", ["[0-9].*", "nums"]),
    ("every", [".*", "e"]),
    ("some", ["b", "l"]),
    ("some", ["x", "e"]),
    ("none", ["x", "l"]),
    ("none", ["x", "e"]),
    ("sublist", ["l", "head", "2"]),
    ("sublist", ["l", "tail", "2"]),
    ("sublist", ["l", "head", "20"]),
    ("sublist", ["l", "tail", "0"]),
    ("getindices", ["l"]),
    ("getindices", ["ord"]),
    ("getindices", ["da"]),
    ("getvalues", ["l"]),
    ("getvalues", ["d"]),
    ("getvalues", ["da"]),
    ("difference", ["l", "other"]),
    ("intersection", ["l", "other"]),
    ("intersection", ["l", "e"]),
    ("sum", ["nums"]),
    ("sum", ["e"]),
    ("product", ["nums"]),
    ("max", ["nums", "int"]),
    ("min", ["l", "lex"]),
    ("max", ["ips", "IP"]),
    ("mean", ["nums"]),
    ("variance", ["nums"]),
    ("maplist", ["x$(this)", "l"]),
    ("maplist", ["${this}-$(s)", "other"]),
    ("maplist", ["z", "e"]),
    ("mergedata", ["obj", "d"]),
    ("mergedata", ["l"]),
    ("mergedata", ["obj", "other"]),
    ("mergedata", ["other", "other"]),
    ("mergedata", ["[1,2]", "[3]"]),
    ("mergedata", ['{"q": [1, 2,]}']),
    ("parsejson", ['{"b": 1, "a": [2.123456, -0.5, 1.0], "c": "t"}']),
    ("parsejson", ["[1] trailing"]),
    ("parsejson", ["not json"]),
    ("parsejson", ['"just a string"']),
    ("parsejson", ["[123456789012345]"]),
    ("validjson", ['{"a":1}']),
    ("validjson", ["[1, ]"]),
    ("validjson", ["3"]),
    ("validjson", ["{"]),
    ("storejson", ["ord"]),
    ("storejson", ["e"]),
    ("storejson", ["l"]),
    ("storejson", ["da"]),
    ("type", ["d"]),
    ("type", ["l"]),
    ("type", ["s"]),
    ("type", ["d", "true"]),
    ("type", ["da", "true"]),
    ("type", ["s", "true"]),
    ("type", ["l", "true"]),
    ("type", ["nosuch"]),
]


@pytest.fixture(scope="module")
def cf(cf_workdir: Path) -> dict[int, str]:
    return cf_results(cf_workdir, CASES, SETUP, "lists.cf")


@requires_cfengine
@pytest.mark.parametrize("idx", range(len(CASES)), ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_matches_cfagent(cf: dict[int, str], idx: int) -> None:
    fn, args = CASES[idx]
    assert vigil_result(FnTestEnv(SETUP), fn, args) == cf[idx], f"{fn}({args})"
