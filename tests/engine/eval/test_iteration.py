"""Iteration over lists and containers, and class expressions in guards, as the bundle
runner evaluates them: the wheel of a promise naming lists (first mention varies
slowest), data containers, ``$(a[$(k)])`` naming nothing, class guards with
operators and variables, ``if``/``unless``. Plus the helpers of ``engine.eval.expand``
the runner uses, called directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.eval import expand as ex
from engine.eval.classexpr import evaluate
from engine.eval.values import Data
from tests.engine.eval.agent_kit import Kit


def reports(tmp_path: Path, body: str, **kw: object) -> list[str]:
    kit = Kit(tmp_path, "bundle agent main {\n" + body + "\n}\n", **kw)  # type: ignore[arg-type]
    kit.run()
    return kit.reports


def test_two_lists_first_mention_varies_slowest(tmp_path: Path) -> None:
    got = reports(tmp_path, """vars: "a" slist => { "1", "2" }; "b" slist => { "x", "y" };
reports: "$(a)$(b)"; "$(b)$(a)";""")
    assert got == ["1x", "1y", "2x", "2y", "x1", "x2", "y1", "y2"]


def test_a_list_in_the_promiser_and_an_attribute(tmp_path: Path) -> None:
    got = reports(tmp_path, """vars: "l" slist => { "p", "q" };
"copy_$(l)" string => "value of $(l)";
reports: "$(copy_p) / $(copy_q)";""")
    assert got == ["value of p / value of q"]


def test_data_containers_iterate_over_their_primitive_values(tmp_path: Path) -> None:
    got = reports(tmp_path, """vars:
  "d" data => parsejson('{"a": "1", "b": ["nested"], "c": null, "e": 2}');
  "k" slist => getindices("d");
reports: "v $(d)"; "k $(k)";""")
    assert sorted(got) == ["k a", "k b", "k c", "k e", "v 1", "v 2"]


def test_an_empty_list_runs_the_promise_zero_times(tmp_path: Path) -> None:
    got = reports(tmp_path, """vars: "none" slist => { };
reports: "item $(none)"; "after";""")
    assert got == ["after"]


def test_a_nested_reference_naming_nothing_skips_that_iteration(tmp_path: Path) -> None:
    got = reports(tmp_path, """vars: "k" slist => { "a", "b", "c" }; "v[a]" string => "A";
"v[c]" string => "C";
reports: "$(k)=$(v[$(k)])";""")
    assert got == ["a=A", "c=C"]


def test_empty_wheel_and_iterables_directly() -> None:
    values = {"k": ["a", "b"], "v[a]": "A", "d": Data([1]), "s": "plain"}
    lookup = values.get
    assert ex.iterables(["$(k) $(s) $(d)"], lookup) == ["k", "d"]
    assert not ex.empty_wheel(["$(v[$(k)])"], {**values, "k": "a"}.get, ["k"])
    assert ex.empty_wheel(["$(v[$(k)])"], {**values, "k": "b"}.get, ["k"])
    assert ex.iter_values(Data({"x": "1", "y": None, "z": [2]})) == ["1"]
    assert ex.list_value(Data([1, "two", True])) == ["1", "two", "true"]


@pytest.mark.parametrize(("guard", "shown"), [
    ("linux.!windows", True),
    ("linux&windows", False),
    ("windows|linux", True),
    ("!(linux.x86_64)", False),
    ("linux.(windows|x86_64)", True),
    ("linux|windows.nothing", True),  # . binds tighter than |
])
def test_class_guards_with_operators(tmp_path: Path, guard: str, shown: bool) -> None:
    got = reports(tmp_path, f'reports: {guard}:: "shown";', hard=("linux", "x86_64"))
    assert got == (["shown"] if shown else [])
    assert evaluate(guard, {"any", "linux", "x86_64"}.__contains__) is shown


def test_a_guard_made_of_a_variable(tmp_path: Path) -> None:
    got = reports(tmp_path, """vars: "os" string => "linux"; "l" slist => { "linux", "nope" };
reports: "$(os)":: "by variable";
  "$(l)":: "by list $(l)";""", hard=("linux",))
    assert got == ["by variable", "by list linux"]


def test_if_and_unless_take_class_expressions_and_functions(tmp_path: Path) -> None:
    got = reports(tmp_path, """reports:
  "if holds" if => "linux.!windows";
  "if fails" if => "windows";
  "unless holds" unless => "windows";
  "unless fails" unless => "linux";
  "if function" if => isvariable("sys.nothing_here");
  "unless function" unless => strcmp("a", "b");""", hard=("linux",))
    assert got == ["if holds", "unless holds", "unless function"]


def test_defined_classes_are_visible_to_later_guards(tmp_path: Path) -> None:
    got = reports(tmp_path, """classes: "mine" expression => "linux";
  "both" and => { "mine", "linux" }; "either" or => { "nothing", "mine" };
  "neg" not => "mine";
reports: both.either.!neg:: "all as expected";""", hard=("linux",))
    assert got == ["all as expected"]


def test_defines_from_the_command_line_hold(tmp_path: Path) -> None:
    assert reports(tmp_path, 'reports: given:: "given";', defines=("given",)) == ["given"]
