"""Exact results without cf-agent (values recorded from cf-agent 3.21)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from engine.eval.functions import exec_fns, registry
from engine.eval.functions._util import cf_int, cf_real, full_match, json_compact, json_pretty
from engine.eval.functions.classes_fns import splay_class_name
from engine.eval.functions.exec_fns import split_command
from engine.eval.functions.math_fns import evaluate_infix
from engine.eval.values import Data
from tests.engine.functions.conftest import FnTestEnv


def call(fn: str, *args: Any, env: FnTestEnv | None = None) -> Any:
    return registry.call(fn, env or FnTestEnv({"l": ["b", "a", "c"], "e": []}), list(args))


@pytest.mark.parametrize(
    ("fn", "args", "want"),
    [
        ("canonify", ["a-b c.d/é"], "a_b_c_d___"),
        ("canonifyuniquely", ["a-b"], "a_b_34fafddda8f42376094beb762e514a67b6f019e7"),
        ("string_head", ["abcdef", "-2"], "abcd"),
        ("string_tail", ["abcdef", "-2"], "cdef"),
        ("string_head", ["abcdef", "bad"], ""),
        ("string_split", ["a.b", "", "5"], ["", "", "", "", "a.b"]),
        ("splitstring", ["a,b,c", ",", "1"], ["a"]),
        ("escape", ["a_b:c"], "a\\_b\\:c"),
        ("dirname", ["/a/b/c/"], "/a/b"),
        ("format", ["%S", "l"], '{ "b", "a", "c" }'),
        ("format", ["%S", "e"], "{  }"),
        ("format", ["%e", "1"], "(unhandled format)"),
        ("eval", ["4 > 3 + 2"], "3.000000"),
        ("eval", ["pi * 2"], "3.141593"),
        ("eval", ["3 / 0"], "inf"),
        ("eval", ["sqrt(-1)"], "-nan"),
        ("eval", ["nonsense"], ""),
        ("eval", ["2 == 2", "class", "infix"], "any"),
        ("eval", ["(1", "class", "infix"], "!any"),
        ("sort", ["l", "lex"], ["a", "b", "c"]),
        ("join", ["+", "l"], "b+a+c"),
        ("sum", ["e"], "0.000000"),
        ("product", ["e"], "1.000000"),
        ("nth", ["l", "-1"], "c"),
        ("every", [".*", "e"], False),
        ("none", [".*", "e"], True),
        ("maplist", ["<$(this)>", "l"], ["<b>", "<a>", "<c>"]),
        ("accumulated", ["0", "0", "1", "1", "1", "1"], "90061"),
        ("irange", ["5", "1"], "1,5"),
        ("ifelse", ["!any", "a", "b"], "b"),
        ("and", [True, "any"], True),
        ("or", [False, "!any"], False),
        ("not", [False], True),
    ],
)
def test_exact(fn: str, args: list[Any], want: Any) -> None:
    assert call(fn, *args) == want


def test_failures_raise_function_error() -> None:
    for fn, args in [
        ("nth", ["l", "9"]),
        ("join", [",", "nosuch"]),
        ("string_split", ["a", ",", "0"]),
        ("format", ["%s %s", "x"]),
        ("format", ["%S", "nosuch"]),
        ("parsejson", ["3"]),
        ("readfile", ["/nonexistent/vigil-test"]),
        ("execresult", ["echo relative", "noshell"]),
        ("getuid", ["vigil-no-such-user"]),
        ("mergedata", ["nosuch"]),
    ]:
        with pytest.raises(registry.FunctionError):
            call(fn, *args)


def test_numbers_parse_like_cfengine() -> None:
    assert [cf_int(s) for s in ("10", "2x", "1k", "1K", " 3", "3x ", "50%", "inf")] == [
        10, 2, 1000, 1024, 3, 3, -50, 999999999,
    ]
    assert [cf_int(s) for s in ("2xy", "2.7", "", "x", "3 k", "101%")] == [None] * 6
    assert cf_real("9x") == 9.0 and cf_real("1.5k") == 1500.0 and cf_real("abc") is None


def test_regex_match_is_leftmost_and_whole() -> None:
    assert full_match("a.*", "abc")
    assert not full_match("b", "abc")
    assert not full_match("a|abc", "abc")  # PCRE takes the first alternative
    assert full_match("[[:alpha:]]+[[:digit:]]", "ab1")
    assert full_match("(?<n>x)y", "xy")


def test_eval_grammar_quirks() -> None:
    assert evaluate_infix("2*3^2") == 36.0  # one precedence level, left to right
    assert evaluate_infix("10%4*2") == 4.0
    assert evaluate_infix("2--1") == 3.0
    assert evaluate_infix("5 5") == 5.0
    assert evaluate_infix("1 k") == 1000.0
    assert evaluate_infix("-(2)") is None


def test_json_output_sorts_keys_and_fixes_reals() -> None:
    v = {"b": [1, 2.5], "a": None, "c": {}}
    assert json_compact(v) == '{"a":null,"b":[1,2.5000],"c":{}}'
    assert json_pretty(v) == '{\n  "a": null,\n  "b": [\n    1,\n    2.5000\n  ],\n  "c": {\n  }\n}'
    assert call("parsejson", "[123456789012345]") == Data([-2045911175])


def test_splayclass_checks_its_slot() -> None:
    name = splay_class_name("host1", "daily")
    env = FnTestEnv(classes=name.split("."))
    assert call("splayclass", "host1", "daily", env=env) is True
    assert call("splayclass", "host1", "daily", env=FnTestEnv()) is False
    assert splay_class_name("host1", "hourly").startswith("Min")


def test_noshell_never_uses_a_shell() -> None:
    assert split_command('/bin/echo "a b"  c \'d e\'') == ["/bin/echo", "a b", "c", "d e"]
    assert call("execresult", "/bin/echo a;b $HOME", "noshell") == "a;b $HOME"
    assert call("execresult", "echo a; echo b", "useshell") == "a\nb"
    assert call("returnszero", "/bin/false", "noshell") is False


def test_commands_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exec_fns, "EXEC_TIMEOUT", 0.3)
    start = time.monotonic()
    with pytest.raises(registry.FunctionError, match="timed out"):
        call("execresult", "/bin/sleep 5", "noshell")
    assert time.monotonic() - start < 3


def test_files(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("one\ntwo\n\nthree")
    (tmp_path / "ln").symlink_to("missing")
    assert call("fileexists", str(tmp_path / "ln")) is True
    assert call("isplain", str(tmp_path / "ln")) is False
    assert call("countlinesmatching", "t.*", str(f)) == "2"
    assert call("readfile", str(f), "5") == "one\nt"
    assert call("filestat", str(f), "permoct") == "644"
    assert sorted(call("lsdir", str(tmp_path), ".*", "false")) == [".", "..", "f.txt", "ln"]
    assert call("file_hash", str(tmp_path / "nope"), "sha1") == "0" * 40


def test_class_and_variable_queries() -> None:
    env = FnTestEnv(
        {"x": "1", "arr[k]": "v"},
        classes={"web_1", "web_2", "db"},
        bundles={"default:main": ["a"], "ns:other": ["b", "c"]},
    )
    assert call("classmatch", "web_.*", env=env) is True
    assert call("classesmatching", "web_.*", env=env) == ["web_1", "web_2"]
    assert call("countclassesmatching", "d.*", env=env) == "1"
    assert call("bundlesmatching", ".*", "c", env=env) == ["ns:other"]
    assert call("variablesmatching", "default:main\\.x", env=env) == ["default:main.x"]
    assert call("getindices", "arr", env=env) == ["k"]
    assert call("getvalues", "arr", env=env) == ["v"]
    assert call("isvariable", "arr[k]", env=env) is True
