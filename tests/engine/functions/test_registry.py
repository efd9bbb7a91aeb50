"""The function table: registration, arity, argument helpers, docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.eval.functions import registry
from engine.eval.functions.docs import render_markdown
from engine.eval.values import Data
from tests.engine.functions.conftest import FnTestEnv

REPO = Path(__file__).resolve().parents[3]


def test_required_functions_are_registered() -> None:
    required = [
        "concat", "canonify", "canonifyuniquely", "strcmp", "regcmp", "fileexists", "isdir",
        "isplain", "islink", "not", "and", "or", "ifelse", "join", "splitstring",
        "string_split", "format", "classmatch", "classesmatching", "isvariable", "getenv",
        "execresult", "returnszero", "readfile", "length", "nth", "reverse", "sort", "filter",
        "maplist", "countlinesmatching", "lsdir", "hash", "string_upcase", "string_downcase",
        "string_length", "string_head", "string_tail", "regextract", "eval", "isgreaterthan",
        "islessthan", "irange", "bundlesmatching", "now", "ago", "accumulated", "on",
        "laterthan", "classify", "strftime", "unique", "sum", "product", "sublist", "every",
        "some", "none", "grep", "difference", "intersection", "getindices", "getvalues",
        "mergedata", "parsejson", "readjson", "storejson", "data_readstringarray",
        "data_readstringarrayidx", "readstringlist", "readintlist", "readstringarray",
        "regline", "variablesmatching", "getuid", "getgid", "userexists", "groupexists",
        "escape", "string_replace", "string_reverse", "string_trim", "isexecutable", "filesize",
        "filestat", "dirname", "lastnode", "translatepath", "splayclass", "getfields",
        "randomint", "validjson", "type", "packagesmatching", "file_hash", "isnewerthan",
        "findfiles",
    ]
    missing = [n for n in required if registry.lookup(n) is None]
    assert missing == []


def test_every_function_documents_its_signature() -> None:
    for spec in registry.all_specs():
        first = spec.doc.splitlines()[0] if spec.doc else ""
        assert re.match(rf"{re.escape(spec.name)}\(.*\)", first), spec.name


def test_arity_is_checked_before_the_call() -> None:
    env = FnTestEnv()
    with pytest.raises(registry.FunctionError, match="expects 1 arguments but was given 2"):
        registry.call("canonify", env, ["a", "b"])
    with pytest.raises(registry.FunctionError, match="at least 1"):
        registry.call("format", env, [])
    with pytest.raises(registry.FunctionError, match="Unknown function"):
        registry.call("no_such_function", env, [])


def test_maplist_first_argument_is_lazy() -> None:
    spec = registry.lookup("maplist")
    assert spec is not None and spec.lazy_args == frozenset({0})
    assert registry.lookup("join").lazy_args == frozenset()  # type: ignore[union-attr]


def test_return_kinds() -> None:
    env = FnTestEnv({"l": ["a"]})
    assert registry.call("strcmp", env, ["a", "a"]) is True
    assert registry.call("parsejson", env, ["[1]"]) == Data([1])
    assert registry.call("string_length", env, ["abc"]) == "3"
    assert registry.call("reverse", env, ["l"]) == ["a"]


def test_as_list_and_as_data_resolve_references() -> None:
    env = FnTestEnv({"l": ["a", "b"], "d": Data({"k": "v", "n": None}), "s": "x"})
    assert registry.as_list(env, "l") == ["a", "b"]
    assert registry.as_list(env, "@(l)") == ["a", "b"]
    assert registry.as_list(env, "main.l") == ["a", "b"]
    assert registry.as_list(env, ["z"]) == ["z"]
    assert registry.as_list(env, "d") == ["v"]
    assert registry.as_list(env, "s") is None
    assert registry.as_list(env, "nosuch") is None
    assert registry.as_data(env, "d") == {"k": "v", "n": None}
    assert registry.as_data(env, '{"a": 1}') == {"a": 1}
    assert registry.as_data(env, "l") == ["a", "b"]
    assert registry.as_data(env, "s") is None


def test_docs_page_is_current() -> None:
    page = REPO / "docs" / "functions.md"
    assert page.read_text() == render_markdown(), "regenerate: python -m engine.eval.functions.docs > docs/functions.md"
