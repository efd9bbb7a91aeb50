"""engine.eval.outcomes on its own: what a promise's result does to the run. ``classes``
bodies define per outcome (every partial outcome in ``also`` counts) and cancel, in
namespace or bundle scope; handles, tallies, classes an actuator sets, module output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.eval.base import Tally
from engine.eval.context import Frame
from engine.eval.outcomes import apply_module, apply_result
from engine.policy.ast import Pos
from engine.promises.base import Outcome, PromiseResult, ResolvedPromise
from engine.promises.commands.module_protocol import ModuleOutput
from tests.engine.eval.agent_kit import Kit

BODIES = """bundle agent main { }
body classes all_outcomes {
  promise_kept => { "k" }; promise_repaired => { "r", "has space" };
  repair_failed => { "f" }; repair_denied => { "d" }; repair_timeout => { "t" };
  cancel_kept => { "ck" }; cancel_repaired => { "cr" }; cancel_notkept => { "cn" };
}
body classes in_bundle { promise_repaired => { "local_r" }; scope => "bundle"; }
"""


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    k = Kit(tmp_path, BODIES)
    k.agent.ctx.push(Frame("default", "main"))
    k.agent.tallies.append(Tally())
    yield k
    k.agent.ctx.pop()


def promise(kit: Kit, body: str | None = None, handle: str | None = None) -> ResolvedPromise:
    attrs: dict[str, Any] = {}
    if body is not None:
        found = kit.agent.policy.find_body("classes", body)
        assert found is not None
        attrs["classes"] = kit.agent.resolver.resolve_body(found, [])
    return ResolvedPromise("files", "/tmp/x", attrs, "main", "default", Pos("p.cf", 1, 1),
                           handle=handle)


def defined(kit: Kit, *names: str) -> list[str]:
    return [n for n in names if kit.has_class(n)]


ALL = ("k", "r", "has_space", "f", "d", "t")


@pytest.mark.parametrize(("outcome", "want"), [
    (Outcome.KEPT, ["k"]),
    (Outcome.REPAIRED, ["r", "has_space"]),
    (Outcome.NOTKEPT, ["f"]),
    (Outcome.DENIED, ["d"]),
    (Outcome.TIMEOUT, ["t"]),
])
def test_each_outcome_defines_its_classes_canonified(kit: Kit, outcome: Outcome,
                                                     want: list[str]) -> None:
    apply_result(kit.agent, None, promise(kit, "all_outcomes"), PromiseResult(outcome))
    assert defined(kit, *ALL) == want


@pytest.mark.parametrize(("outcome", "cancelled"), [
    (Outcome.KEPT, ["ck"]), (Outcome.REPAIRED, ["cr"]), (Outcome.NOTKEPT, ["cn"]),
    (Outcome.DENIED, ["cn"]), (Outcome.TIMEOUT, ["cn"]),
])
def test_each_outcome_cancels_its_classes(kit: Kit, outcome: Outcome,
                                          cancelled: list[str]) -> None:
    for name in ("ck", "cr", "cn"):
        kit.agent.ctx.define(name)
    apply_result(kit.agent, None, promise(kit, "all_outcomes"), PromiseResult(outcome))
    assert [n for n in ("ck", "cr", "cn") if not kit.has_class(n)] == cancelled


def test_partial_outcomes_count_too(kit: Kit) -> None:
    """A copy whose content was repaired and whose attributes were kept defines both."""
    result = PromiseResult(Outcome.REPAIRED, also=[Outcome.KEPT])
    apply_result(kit.agent, None, promise(kit, "all_outcomes"), result)
    assert defined(kit, *ALL) == ["k", "r", "has_space"]


def test_bundle_scope_classes_end_with_the_frame(kit: Kit) -> None:
    apply_result(kit.agent, None, promise(kit, "in_bundle"), PromiseResult(Outcome.REPAIRED))
    assert kit.has_class("local_r")
    kit.agent.ctx.pop()
    try:
        assert not kit.has_class("local_r")
    finally:
        kit.agent.ctx.push(Frame("default", "main"))


def test_skipped_changes_nothing(kit: Kit) -> None:
    apply_result(kit.agent, None, promise(kit, "all_outcomes", handle="h"),
                 PromiseResult(Outcome.SKIPPED))
    assert defined(kit, *ALL) == []
    assert kit.agent.handles == {}
    assert kit.agent.tallies[-1] == Tally()


def test_tally_and_handle(kit: Kit) -> None:
    for outcome in (Outcome.KEPT, Outcome.REPAIRED, Outcome.NOTKEPT, Outcome.DENIED):
        apply_result(kit.agent, None, promise(kit, handle="h"), PromiseResult(outcome))
    assert kit.agent.tallies[-1] == Tally(kept=1, repaired=1, notkept=2)
    assert kit.agent.handles == {"h": Outcome.DENIED}  # the last outcome counts


def test_classes_an_actuator_sets_are_namespace_classes(kit: Kit) -> None:
    kit.agent.ctx.define("old")
    apply_result(kit.agent, None, promise(kit), PromiseResult(
        Outcome.REPAIRED, classes=["restarted"], cancel_classes=["old"]))
    assert kit.has_class("restarted") and not kit.has_class("old")


def test_module_variables_and_classes(kit: Kit) -> None:
    out = ModuleOutput()
    out.classes.append("from_module")
    out.variables[("mod", "v")] = "value"
    out.variables[("mod", "l")] = ["a", "b"]
    apply_module(kit.agent, out)
    assert kit.has_class("from_module")
    assert kit.var("default:mod.v") == "value"
    assert kit.var("default:mod.l") == ["a", "b"]


def test_result_variables_land_in_the_command_context(kit: Kit) -> None:
    rp = ResolvedPromise("commands", "/usr/bin/my-tool --flag", {}, "main", "default",
                         Pos("p.cf", 1, 1))
    apply_result(kit.agent, None, rp, PromiseResult(
        Outcome.REPAIRED, variables={"x": "1", "other.y": "2", "a[k.j]": "3"}))
    assert kit.var("default:my_tool.x") == "1"
    assert kit.var("default:other.y") == "2"
    assert kit.var("default:my_tool.a[k.j]") == "3"
