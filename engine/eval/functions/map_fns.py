"""Mapping a pattern over a collection: maparray and mapdata (maplist is in lists).

The pattern is evaluated late, once per element, with ``$(this.k)`` (the key or
position), ``$(this.k[1])`` (the second-level key, when there is one) and
``$(this.v)`` (the value) bound; it may be a function call (``canonify($(this.v))``).
Elements are walked as cf-agent walks them: a top-level scalar is one element, a
top-level array gives one element per scalar in it, a top-level object one per
scalar value (with ``this.k[1]``); deeper containers are skipped. A classic array is
first turned into a container (``a[x][y]`` -> ``{"x": {"y": ...}}``).
"""

from __future__ import annotations

from engine.eval.functions._util import json_compact
from engine.eval.functions.arrays import collect
from engine.eval.functions.registry import FnEnv, FunctionError, function, scalar_str
from engine.eval.values import Data
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any


def _prim(v: Any) -> str | None:
    """A scalar as this.v shows it (``null`` for null); None for a container."""
    if v is None:
        return "null"
    return scalar_str(v)


def elements(container: Any) -> Iterator[dict[str, Any]]:
    """The bindings (``this.k``, ``this.k[1]``, ``this.v``) of each element; a list
    under a top-level key binds ``this.v`` to the list (see :func:`apply_all`)."""
    items = container.items() if isinstance(container, dict) else (
        (str(i), v) for i, v in enumerate(container)) if isinstance(container, list) else ()
    for k, v in items:
        if isinstance(v, list):
            values = [p for p in map(_prim, v) if p is not None]
            if values:
                yield {"this.k": k, "this.v": values}
        elif isinstance(v, dict):
            for k1, x in v.items():
                p = _prim(x)
                if p is not None:
                    yield {"this.k": k, "this.k[1]": k1, "this.v": p}
        else:
            p = _prim(v)
            if p is not None:
                yield {"this.k": k, "this.v": p}


def _mentions(pattern: Any, name: str) -> bool:
    """True when the delayed pattern refers to ``name``; a call may reach it through a
    variable, so it counts as referring to everything."""
    return name in pattern if isinstance(pattern, str) else True


def apply(env: FnEnv, pattern: Any, bound: dict[str, str]) -> str:
    """The delayed ``pattern`` evaluated with ``bound`` (through ``eval_lazy`` when
    the environment has it; otherwise plain text substitution)."""
    lazy = getattr(env, "eval_lazy", None)
    if lazy is not None:
        return lazy(pattern, bound)
    if not isinstance(pattern, str):
        raise FunctionError("a delayed function call needs an evaluation context")
    for name, value in bound.items():
        pattern = pattern.replace(f"$({name})", value).replace(f"${{{name}}}", value)
    return pattern


def apply_all(env: FnEnv, pattern: Any, container: Any, escape: bool = False) -> list[str]:
    """``pattern`` for every element. A list bound to ``this.v`` gives one result per
    item when the pattern uses ``this.v`` (cf-agent's implicit iteration), else one.
    With ``escape`` the bound values are escaped for a JSON string."""
    out = []
    uses_v = _mentions(pattern, "this.v")
    for b in elements(container):
        v = b["this.v"]
        variants = [{**b, "this.v": x} for x in v] if isinstance(v, list) and uses_v else (
            [{k: x for k, x in b.items() if k != "this.v"}] if isinstance(v, list) else [b])
        for bound in variants:
            if escape:
                bound = {k: x.replace("\\", "\\\\").replace('"', '\\"') for k, x in bound.items()}
            out.append(apply(env, pattern, bound))
    return out


def _container(env: FnEnv, fn: str, arg: Any) -> Any:
    v = collect(env, arg)
    if v is None or not isinstance(v, (dict, list)):
        raise FunctionError(f"Function '{fn}': '{arg}' is not a list, container or array",
                            quiet=True)
    return v


@function("maparray", "slist", 2, 2, lazy_args=(0,))
def maparray(env: FnEnv, pattern: Any, arg: Any) -> list[str]:
    """maparray(pattern, array_or_container): ``pattern`` for each element, with
    ``$(this.k)``, ``$(this.k[1])`` and ``$(this.v)`` bound."""
    return apply_all(env, pattern, _container(env, "maparray", arg))


def _json_pipe(env: FnEnv, command: str, container: Any) -> Any:
    """json_pipe: ``command`` reads the container as JSON and prints JSON values,
    each one an element of the result."""
    import subprocess

    from engine.eval.functions import _jsonref
    from engine.eval.functions.exec_fns import EXEC_TIMEOUT, split_command

    argv = split_command(command)
    if not argv:
        raise FunctionError("Function 'mapdata': empty json_pipe command", quiet=True)
    try:
        proc = subprocess.run(argv, input=json_compact(container).encode("utf-8", "surrogateescape"), capture_output=True,
                              timeout=EXEC_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise FunctionError(f"Function 'mapdata': json_pipe command '{command}' failed ({e})",
                            quiet=True) from None
    try:
        return _jsonref.parse_stream(proc.stdout.decode("utf-8", "surrogateescape"))
    except ValueError:
        raise FunctionError(f"Function 'mapdata': json_pipe command '{command}' did not print JSON",
                            quiet=True) from None


@function("mapdata", "data", 3, 3, lazy_args=(1,))
def mapdata(env: FnEnv, interpretation: str, pattern: Any, arg: Any) -> Data:
    """mapdata(interpretation, pattern, array_or_container): an array of ``pattern``
    for each element: as text (``none``), canonified (``canonify``), parsed as JSON
    (``json``; elements that do not parse are left out), or, with ``json_pipe``, the
    JSON that command ``pattern`` prints when given the whole container."""
    container = _container(env, "mapdata", arg)
    if interpretation == "json_pipe":
        command = apply(env, pattern, {})
        return Data(_json_pipe(env, command, container))
    texts = apply_all(env, pattern, container, escape=interpretation == "json")
    if interpretation == "canonify":
        return Data([canonify(t) for t in texts])
    if interpretation != "json":
        return Data(texts)
    from engine.eval.functions import _jsonref

    out: list[Any] = []
    for text in texts:
        try:
            out.append(_jsonref.parse(text))
        except ValueError:
            continue
    return Data(out)


def _expand_all(env: FnEnv, v: Any, depth: int = 0) -> Any:
    if depth > 1000:
        raise FunctionError("Function 'data_expand': data nested too deeply", quiet=True)
    if isinstance(v, str):
        return apply(env, v, {}) if "$" in v else v
    if isinstance(v, list):
        return [_expand_all(env, x, depth + 1) for x in v]
    if isinstance(v, dict):
        return {_expand_all(env, k, depth + 1): _expand_all(env, x, depth + 1) for k, x in v.items()}
    return v


@function("data_expand", "data", 1, 1)
def data_expand(env: FnEnv, arg: Any) -> Data:
    """data_expand(data_container): the container with the variable references in its
    keys and string values expanded (references that do not resolve stay as written)."""
    return Data(_expand_all(env, _container(env, "data_expand", arg)))
