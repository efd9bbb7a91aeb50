"""engine.eval.context.EvalContext on its own: hard, namespace and bundle classes, class
expressions over them, namespaces, variable scopes and references (qualified, relative to
the current bundle, special scopes, classic arrays, indexes into data containers)."""

from __future__ import annotations

from engine.eval.context import EvalContext, Frame
from engine.eval.values import Data


def ctx_in(namespace: str = "default", bundle: str = "main") -> EvalContext:
    ctx = EvalContext(hard={"any", "linux"})
    ctx.push(Frame(namespace, bundle))
    return ctx


def test_hard_namespace_and_bundle_classes() -> None:
    ctx = ctx_in()
    ctx.define("soft")
    ctx.define("local", "bundle")
    assert ctx.class_defined("linux.soft.local")
    assert ctx.is_defined("default:soft") and ctx.is_defined("default:linux")
    ctx.pop()
    assert ctx.class_defined("soft") and not ctx.class_defined("local")
    ctx.push(Frame("default", "other"))
    assert not ctx.class_defined("local"), "bundle classes belong to their frame"


def test_define_canonifies_and_undefine_removes_both_scopes() -> None:
    ctx = ctx_in()
    ctx.define("has-dash and space")
    assert ctx.is_defined("has_dash_and_space")
    ctx.define("b", "bundle")
    ctx.undefine("has_dash_and_space")
    ctx.undefine("b")
    assert not ctx.class_defined("has_dash_and_space|b")


def test_a_malformed_expression_is_false_not_an_error() -> None:
    ctx = ctx_in()
    assert ctx.class_defined("linux.(any") is False
    assert ctx.class_defined("linux&!nothing") is True


def test_classes_of_another_namespace_are_qualified() -> None:
    ctx = ctx_in("ns1", "b")
    ctx.define("mine")
    assert ctx.is_defined("mine") and ctx.is_defined("ns1:mine")
    assert ctx.is_defined("linux"), "hard classes hold in every namespace"
    ctx.pop()
    assert not ctx.is_defined("mine") and ctx.is_defined("ns1:mine")
    assert "ns1:mine" in ctx.all_classes()


def test_on_define_is_told_the_qualified_name() -> None:
    ctx = ctx_in("ns1", "b")
    told: list[str] = []
    ctx.on_define = told.append
    ctx.define("x")
    ctx.define("default:y")
    assert told == ["ns1:x", "default:y"]


def test_variable_references_relative_and_qualified() -> None:
    ctx = ctx_in()
    ctx.set_var("default:main", "v", "mine")
    ctx.set_var("default:other", "v", "theirs")
    ctx.set_var("sys", "fqhost", "host.example")
    assert ctx.lookup("v") == "mine"
    assert ctx.lookup("main.v") == "mine"
    assert ctx.lookup("other.v") == "theirs"
    assert ctx.lookup("default:other.v") == "theirs"
    assert ctx.lookup("sys.fqhost") == "host.example"
    assert ctx.lookup("nowhere.v") is None and ctx.lookup("w") is None


def test_a_bundle_of_the_current_namespace_is_found_unqualified() -> None:
    ctx = ctx_in("ns1", "b")
    ctx.set_var("ns1:b", "v", "in ns1")
    ctx.set_var("ns1:c", "v", "c in ns1")
    ctx.set_var("default:c", "v", "c in default")
    assert ctx.lookup("v") == "in ns1"
    assert ctx.lookup("c.v") == "c in ns1"
    assert ctx.lookup("default:c.v") == "c in default"


def test_this_falls_back_to_the_current_bundle() -> None:
    ctx = ctx_in()
    ctx.set_var("default:main", "own", "o")
    ctx.set_var("this", "promiser", "p")
    assert ctx.lookup("this.promiser") == "p"
    assert ctx.lookup("this.own") == "o"


def test_classic_arrays_and_data_indexes() -> None:
    ctx = ctx_in()
    for key, value in (("b", "2"), ("a", "1"), ("a][x", "nested")):
        ctx.set_var("default:main", f"arr[{key}]", value)
    ctx.set_var("default:main", "d", Data({"k": {"list": ["x", "y"]}, "n": None}), "data")
    assert ctx.lookup("arr[a]") == "1"
    assert ctx.array_keys("arr") == ["b", "a"]  # definition order, one level
    assert ctx.lookup("d[k][list][1]") == "y"
    assert ctx.lookup("d[k][list][-1]") == "y"
    assert ctx.lookup("d[k][list][2]") is None
    assert ctx.lookup("d[k][list]") == ["x", "y"]
    assert ctx.lookup("d[missing]") is None


def test_var_names_and_lookup_var_keep_type_and_tags() -> None:
    ctx = ctx_in()
    ctx.set_var("default:main", "l", ["a"], "slist", ("source=promise",), "a comment")
    var = ctx.lookup_var("main.l")
    assert var is not None
    assert (var.value, var.vtype, var.tags) == (["a"], "slist", ("source=promise",))
    assert "default:main.l" in ctx.var_names()
