"""Evaluation-state functions: bundlestate, datastate, getvariablemetatags,
getclassmetatags.

They read the agent's variable tables through optional environment methods:
``var_table(scope) -> dict[name, Variable] | None`` (``scope`` is ``ns:bundle``),
``datastate() -> dict`` and ``var_tags(ref)`` / ``class_tags(name)``; without
them the functions fail.
"""

from __future__ import annotations

from engine.eval.functions.registry import FnEnv, FunctionError, function, strip_ref
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


def state_value(value: Any) -> Any:
    """A variable's value as a data container holds it: strings stay strings (ints and
    reals as they are stored, ``"600"``, ``"1.500000"``), lists become arrays."""
    if isinstance(value, Data):
        return value.value
    if isinstance(value, list):
        return list(value)
    return value


def _scope(name: str) -> str:
    return name if ":" in name else f"default:{name}"


@function("bundlestate", "data", 1, 1)
def bundlestate(env: FnEnv, bundle: str) -> Data:
    """bundlestate(bundlename): the bundle's variables as one object, keyed by
    variable name (array entries as ``name[key]``); ``ns:bundle`` outside the
    default namespace."""
    table_of = getattr(env, "var_table", None)
    if table_of is None:
        raise FunctionError("Function 'bundlestate' is not available here")
    name = strip_ref(bundle)
    if name.startswith("default:"):  # cf-agent wants default-namespace bundles unqualified
        raise FunctionError(f"Function 'bundlestate': no bundle '{bundle}'", quiet=True)
    table = table_of(_scope(name))
    if table is None:
        raise FunctionError(f"Function 'bundlestate' could not find bundle '{bundle}'", quiet=True)
    return Data({name: state_value(var.value) for name, var in table.items()})


@function("datastate", "data", 0, 0)
def datastate(env: FnEnv) -> Data:
    """datastate(): ``{"classes": {name: true}, "vars": {bundle: {name: value}}}``,
    every defined class and every bundle's variables (``ns:bundle`` keys outside the
    default namespace)."""
    state = getattr(env, "datastate", None)
    if state is None:
        raise FunctionError("Function 'datastate' is not available here")
    return Data(state())


def _tag_values(tags: list[str], key: str | None) -> list[str]:
    """All tags, or with ``key`` the values of the ``key=value`` tags."""
    if key is None:
        return list(tags)
    prefix = key + "="
    return [t[len(prefix):] for t in tags if t.startswith(prefix)]


@function("getvariablemetatags", "slist", 1, 2)
def getvariablemetatags(env: FnEnv, ref: str, key: str | None = None) -> list[str]:
    """getvariablemetatags(varname, optional tag key): the variable's meta tags, or the
    values of its ``key=value`` tags."""
    tags_of = getattr(env, "var_tags", None)
    tags = tags_of(strip_ref(ref)) if tags_of is not None else None
    if tags is None:
        raise FunctionError(f"Function 'getvariablemetatags': no variable '{ref}'", quiet=True)
    return _tag_values(tags, key)


@function("getclassmetatags", "slist", 1, 2)
def getclassmetatags(env: FnEnv, name: str, key: str | None = None) -> list[str]:
    """getclassmetatags(classname, optional tag key): the class's meta tags, or the
    values of its ``key=value`` tags. For a class that is not defined the call fails
    (quietly), as in cf-agent 3.21."""
    if not env.class_defined(name):
        raise FunctionError(f"getclassmetatags: class '{name}' is not defined", quiet=True)
    tags_of = getattr(env, "class_tags", None)
    if tags_of is None:
        return []
    return _tag_values(list(tags_of(name)), key)
