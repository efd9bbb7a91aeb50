"""A classic array (``v[key]`` variables) as one container.

Shared by :mod:`engine.eval.functions.arrays` (collecting functions) and the
registry's inline-JSON references, and kept apart from both so that neither
imports the other.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, Protocol

    class ArrayEnv(Protocol):
        """What is read of a function's environment (``FnEnv``); an environment may
        also offer ``array_entries(ref)``, looked up with ``getattr``."""

        def get_var(self, ref: str) -> Any | None: ...
        def var_names(self) -> Iterable[str]: ...


def entries(env: ArrayEnv, ref: str) -> list[tuple[str, Any]]:
    """``(key path, value)`` of every ``ref[...]`` variable, the path as written
    between the outer brackets (``x][y``)."""
    fn = getattr(env, "array_entries", None)
    if fn is not None:
        return fn(ref)
    out = []
    suffix = ref.rpartition(".")[2] if "." in ref.split("[", 1)[0] else ref
    for q in env.var_names():
        name = q.partition(".")[2]
        if name.startswith(suffix + "[") and name.endswith("]"):
            out.append((name[len(suffix) + 1 : -1], env.get_var(q)))
    return out


def tree(env: ArrayEnv, ref: str) -> dict[str, Any] | None:
    """The classic array ``ref`` (a bare name) as a container, as cf-agent converts
    one for collecting functions: ``a[x][y]`` becomes ``{"x": {"y": ...}}``, a list
    value an array. None when no ``ref[...]`` variable exists."""
    from engine.eval.values import Data

    found = entries(env, ref)
    if not found:
        return None
    out: dict[str, Any] = {}
    for path, value in found:  # in cf-agent's order (see engine.eval.varorder)
        if isinstance(value, Data):
            value = value.value
        keys = path.split("][")
        node = out
        for k in keys[:-1]:
            child = node.get(k)
            if not isinstance(child, dict):
                child = node[k] = {}
            node = child
        if not isinstance(node.get(keys[-1]), dict):
            node[keys[-1]] = list(value) if isinstance(value, list) else value
    return out
