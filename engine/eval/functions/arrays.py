"""Classic arrays (``v[key]`` variables): finding their keys and values.

An environment may offer ``array_keys(ref) -> list[str] | None`` (keys of the array
``ref`` as the caller's bundle sees it); otherwise the keys are found by scanning
``var_names()`` for ``ns:bundle.ref[key]``.
"""

from __future__ import annotations

from engine.eval.functions.registry import FnEnv, function, strip_ref

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


def _keys_by_scan(env: FnEnv, ref: str) -> list[str] | None:
    ns, _, rest = ref.rpartition(":")
    bundle, _, name = rest.rpartition(".")
    found: dict[str, list[str]] = {}
    for q in env.var_names():
        qns, _, qrest = q.partition(":")
        qb, _, qvar = qrest.partition(".")
        if not qvar.startswith(name + "[") or not qvar.endswith("]"):
            continue
        if (ns and qns != ns) or (bundle and qb != bundle):
            continue
        key = qvar[len(name) + 1 : -1]
        if "][" in key:  # a two-level array: the first level is the key
            key = key.split("][", 1)[0]
        found.setdefault(f"{qns}:{qb}", [])
        if key not in found[f"{qns}:{qb}"]:
            found[f"{qns}:{qb}"].append(key)
    if not found:
        return None
    return next(iter(found.values()))


def array_keys(env: FnEnv, arg: Any) -> list[str] | None:
    """The keys of the classic array named by ``arg``, or None if there is none."""
    if not isinstance(arg, str):
        return None
    ref = strip_ref(arg)
    fn = getattr(env, "array_keys", None)
    if fn is not None:
        return fn(ref)
    return _keys_by_scan(env, ref)


def array_items(env: FnEnv, arg: Any) -> list[tuple[str, str]] | None:
    """``(key, value)`` pairs of a classic array whose values are strings."""
    keys = array_keys(env, arg)
    if keys is None:
        return None
    ref = strip_ref(arg)
    out = []
    for k in keys:
        v = env.get_var(f"{ref}[{k}]")
        if isinstance(v, str):
            out.append((k, v))
        elif isinstance(v, list):
            out.extend((k, x) for x in v)
    return out


@function("isvariable", "class", 1, 1)
def isvariable(env: FnEnv, ref: str) -> bool:
    """isvariable(var): true when the variable (or array element) is defined."""
    return env.get_var(strip_ref(ref)) is not None


def array_tree(env: FnEnv, arg: Any) -> dict[str, Any] | None:
    """The classic array named by ``arg`` as a container (see
    :func:`engine.eval.functions._arraytree.tree`). None when no ``arg[...]``
    variable exists."""
    if not isinstance(arg, str):
        return None
    from engine.eval.functions._arraytree import tree

    return tree(env, strip_ref(arg))


def collect(env: FnEnv, arg: Any) -> Any | None:
    """A collecting function's argument as a container: Data, a list, inline JSON,
    a data or list variable, or a classic array. None when it names none of these."""
    from engine.eval.functions.registry import as_data

    v = as_data(env, arg)
    if v is not None:
        return v
    return array_tree(env, arg)
