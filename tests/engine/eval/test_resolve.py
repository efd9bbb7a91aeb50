"""engine.eval.resolve.Resolver on its own: scalars, lists and their splicing, function
calls, body references (parameters, ``inherit_from``, guarded constraints) and bundle
references, with rvals taken from a policy parsed by vigil's front end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.eval.context import Frame
from engine.eval.resolve import FunctionFailed, Resolver, Unresolved
from engine.policy.ast import Rval, Scalar
from engine.promises.base import BundleCall
from tests.engine.eval.agent_kit import Kit

POLICY = """bundle agent main {
vars:
  "x" string => "1";
  "l" slist => { "l1", "l2" };
  "d" data => parsejson('{"k": "v"}');
  "plain" string => "$(x)-$(x)";
  "open" string => "$(x)-$(nowhere)";
  "whole" slist => { @(l) };
  "spliced" slist => { "a", @(l), "z" };
  "undefined_splice" slist => { "a", @(nosuch) };
  "data_splice" slist => { "a", @(d) };
  "called" string => concat("a", "$(x)", "b");
  "nested" slist => { "a", splitstring("p,q", ",", "9") };
  "failing" string => nosuchfunction("a");
  "unresolved_arg" string => concat("$(nowhere)");
  "class_fn" slist => { isvariable("x") };
  "use" string => "m", classes => outcome("done");
  "inherit" string => "m", classes => child;
  "guarded" string => "m", classes => when;
  "call" string => "m", usebundle => target("a", @(l));
  "name_only" string => "m", usebundle => target;
}
body classes outcome(x) { promise_kept => { "$(x)_kept" }; promise_repaired => { "$(x)" }; }
body classes parent { promise_kept => { "from_parent" }; scope => "bundle"; }
body classes child { inherit_from => parent; promise_repaired => { "from_child" }; }
body classes when { linux:: promise_kept => { "on_linux" }; any:: scope => "namespace"; }
bundle agent target(a, b) { }
"""


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    """The agent with ``main``'s scope current and its variables set."""
    k = Kit(tmp_path, POLICY)
    k.agent.ctx.push(Frame("default", "main"))
    ctx = k.agent.ctx
    ctx.set_var("default:main", "x", "1")
    ctx.set_var("default:main", "l", ["l1", "l2"], "slist")
    yield k
    ctx.pop()


def rval(kit: Kit, promiser: str, lval: str | None = None) -> Rval:
    for p in kit.bundle("main").promises:
        if p.promiser == promiser:
            constraint = p.constraints[-1] if lval is None else next(
                c for c in p.constraints if c.lval == lval)
            return constraint.rval
    raise KeyError(promiser)


def value(kit: Kit, promiser: str, lval: str = "") -> object:
    resolver: Resolver = kit.agent.resolver
    return resolver.value(rval(kit, promiser, lval or None), kit.agent.lookup, lval)


def test_scalar_expands_references(kit: Kit) -> None:
    assert value(kit, "plain") == "1-1"
    assert not kit.agent.runner.unresolved


def test_unresolved_scalar_is_kept_and_noted_strict_raises(kit: Kit) -> None:
    assert value(kit, "open") == "1-$(nowhere)"
    assert kit.agent.runner.unresolved
    resolver = kit.agent.resolver
    with pytest.raises(Unresolved):
        resolver.scalar("$(nowhere)", kit.agent.lookup, strict=True)


def test_lists_splice_list_references(kit: Kit) -> None:
    assert value(kit, "whole") == ["l1", "l2"]
    assert value(kit, "spliced") == ["a", "l1", "l2", "z"]


def test_an_undefined_list_stays_as_written(kit: Kit) -> None:
    assert value(kit, "undefined_splice") == ["a", "@(nosuch)"]
    assert kit.agent.runner.unresolved


def test_a_data_container_spliced_adds_nothing_and_warns_once(kit: Kit) -> None:
    from engine.eval.values import Data

    kit.agent.ctx.set_var("default:main", "d", Data({"k": "v"}), "data")
    assert value(kit, "data_splice") == ["a"]
    assert value(kit, "data_splice") == ["a"]
    assert [ln.strip() for ln in kit.lines if "not list but data" in ln] == [
        "warning: '@(d)' failed - variable is not list but data"]


def test_function_calls(kit: Kit) -> None:
    assert value(kit, "called") == "a1b"
    assert value(kit, "nested") == ["a", "p", "q"]
    assert value(kit, "class_fn") == ["any"]  # a class function in a list is a class


def test_function_failures(kit: Kit) -> None:
    with pytest.raises(FunctionFailed, match="Unknown function 'nosuchfunction'"):
        value(kit, "failing")
    with pytest.raises(Unresolved):
        value(kit, "unresolved_arg")


def test_body_reference_with_parameters(kit: Kit) -> None:
    body = value(kit, "use", "classes")
    assert isinstance(body, dict)
    assert body["promise_kept"] == ["done_kept"]
    assert body["promise_repaired"] == ["done"]
    assert (body["__name__"], body["__type__"]) == ("outcome", "classes")
    assert body["__lvals__"] == ["promise_kept", "promise_repaired"]


def test_body_inherit_from_merges_the_parent_first(kit: Kit) -> None:
    body = value(kit, "inherit", "classes")
    assert isinstance(body, dict)
    assert body["promise_kept"] == ["from_parent"] and body["scope"] == "bundle"
    assert body["promise_repaired"] == ["from_child"]
    assert body["__lvals__"] == ["promise_kept", "scope", "promise_repaired"]


def test_body_constraints_follow_their_class_guards(kit: Kit) -> None:
    body = value(kit, "guarded", "classes")
    assert isinstance(body, dict)
    assert "promise_kept" not in body and body["scope"] == "namespace"
    kit.agent.ctx.define("linux")
    body = value(kit, "guarded", "classes")
    assert isinstance(body, dict) and body["promise_kept"] == ["on_linux"]


def test_a_missing_body_is_none(kit: Kit) -> None:
    name = rval(kit, "use", "string")  # "m": no body of that name
    assert isinstance(name, Scalar)
    assert kit.agent.resolver.body_ref("classes", name, kit.agent.lookup) is None


def test_bundle_references(kit: Kit) -> None:
    call = value(kit, "call", "usebundle")
    assert call == BundleCall("target", ("a", ["l1", "l2"]))
    assert value(kit, "name_only", "usebundle") == BundleCall("target", ())
