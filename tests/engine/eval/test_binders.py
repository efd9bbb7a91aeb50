"""The evaluation-level promise types (engine.eval.types) through the bundle runner:
``vars`` of each type as cf-agent stores them, a later definition replacing an earlier
one, ``policy => "ifdefined"``; ``classes`` with and/or/xor/not/expression,
select_class, their default scope and ``scope => "namespace"``. Expected values were
checked against cf-agent 3.21 on the same policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.eval.context import Frame
from engine.eval.types.classes import decide
from tests.engine.eval.agent_kit import Kit

VARS = """bundle agent main {
vars:
  "i" int => "0600"; "k" int => "1k"; "r" real => "3.25"; "rk" real => "1k";
  "s" string => "first"; "s" string => "second";
  "kept" slist => { "a", @(nosuch), "b" }, policy => "ifdefined";
  "raw" slist => { "a", @(nosuch) };
  "later" string => "$(s)-$(i)";
  "tagged" string => "t", meta => { "mine" };
}
"""


@pytest.fixture(scope="module")
def vars_kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    kit = Kit(tmp_path_factory.mktemp("vars"), VARS)
    kit.run()
    return kit


@pytest.mark.parametrize(("name", "value"), [
    ("i", "600"), ("k", "1000"), ("r", "3.250000"), ("rk", "1000.000000"),
    ("s", "second"), ("later", "second-600"),
    ("kept", ["a", "b"]), ("raw", ["a", "@(nosuch)"]),
])
def test_vars_are_stored_as_cf_agent_stores_them(vars_kit: Kit, name: str,
                                                 value: object) -> None:
    assert vars_kit.var(f"default:main.{name}") == value


def test_vars_carry_their_type_and_tags(vars_kit: Kit) -> None:
    var = vars_kit.agent.ctx.lookup_var("default:main.tagged")
    assert var is not None
    assert var.vtype == "string" and var.tags == ("source=promise", "mine")
    kept = vars_kit.agent.ctx.lookup_var("default:main.kept")
    assert kept is not None and kept.vtype == "slist"


CLASSES = """bundle agent main {
classes:
  "x" xor => { "any", "any", "any" };
  "x2" xor => { "any", "any" };
  "n" not => "nothing";
  "o" or => { "nothing", "any" };
  "a" and => { "any", "nothing" };
  "g" expression => "any", scope => "namespace";
  "sel" select_class => { "one", "two", "three" };
  "waits" expression => "$(undefined_yet)";
reports:
  x:: "x";
  x2:: "x2";
  n:: "n";
  o:: "o";
  a:: "a";
  one|two|three:: "selected one";
}
bundle agent after {
reports:
  g:: "g outside";
  n:: "n outside";
}
"""


def test_class_promises_and_their_scope(tmp_path: Path) -> None:
    kit = Kit(tmp_path, CLASSES)
    kit.run()
    kit.run("after")
    assert kit.reports == ["x", "n", "o", "selected one", "g outside"]


def _decide(kit: Kit, promiser: str) -> tuple[bool | None, list[str]]:
    p = next(p for p in kit.bundle("main").promises if p.promiser == promiser)
    kit.agent.ctx.push(Frame("default", "main"))
    try:
        return decide(kit.agent, p, promiser)
    finally:
        kit.agent.ctx.pop()


def test_select_class_defines_its_promiser_and_one_of_its_classes(tmp_path: Path) -> None:
    # cf-agent 3.21 defines the promiser too (an iterated promise chooses once)
    kit = Kit(tmp_path, CLASSES)
    holds, extra = _decide(kit, "sel")
    assert holds is True and len(extra) == 1 and extra[0] in ("one", "two", "three")
    assert _decide(kit, "sel") == (holds, extra)  # the host name chooses, every time


def test_a_class_that_cannot_be_decided_yet_waits_for_a_later_pass(tmp_path: Path) -> None:
    kit = Kit(tmp_path, CLASSES)
    assert _decide(kit, "waits") == (None, [])
    assert _decide(kit, "a") == (False, [])
    assert _decide(kit, "x") == (True, [])
