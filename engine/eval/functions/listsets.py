"""Set-like list functions: difference, intersection, and list statistics."""

from __future__ import annotations

from engine.eval.functions._util import cf_real, fmt_real
from engine.eval.functions.lists import _SORT_KEYS
from engine.eval.functions.registry import FnEnv, FunctionError, function, need_list

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


@function("difference", "slist", 2, 2)
def difference(env: FnEnv, a: Any, b: Any) -> list[str]:
    """difference(list1, list2): the unique items of list1 that are not in list2."""
    other = set(need_list(env, "difference", b))
    return [x for x in dict.fromkeys(need_list(env, "difference", a)) if x not in other]


@function("intersection", "slist", 2, 2)
def intersection(env: FnEnv, a: Any, b: Any) -> list[str]:
    """intersection(list1, list2): the unique items of list1 that are also in list2."""
    other = set(need_list(env, "intersection", b))
    return [x for x in dict.fromkeys(need_list(env, "intersection", a)) if x in other]


def _extreme(env: FnEnv, fn: str, lst: Any, mode: str, pick_max: bool) -> str:
    items = need_list(env, fn, lst)
    if not items:
        raise FunctionError(f"Function '{fn}' called on an empty list")
    if mode == "lex":
        return max(items) if pick_max else min(items)
    key = _SORT_KEYS.get(mode)
    if key is None:
        raise FunctionError(f"Function '{fn}': unknown sort mode '{mode}'")
    ordered = sorted(items[::-1], key=key)
    return ordered[-1] if pick_max else ordered[0]


@function("max", "string", 2, 2)
def max_(env: FnEnv, lst: Any, mode: str) -> str:
    """max(list, sortmode): the largest item by ``lex``, ``int``, ``real``, ``IP`` or ``MAC``."""
    return _extreme(env, "max", lst, mode, True)


@function("min", "string", 2, 2)
def min_(env: FnEnv, lst: Any, mode: str) -> str:
    """min(list, sortmode): the smallest item by ``lex``, ``int``, ``real``, ``IP`` or ``MAC``."""
    return _extreme(env, "min", lst, mode, False)


def _reals(env: FnEnv, fn: str, lst: Any) -> list[float]:
    """The items as numbers; an item that is not one counts as 0, as cf-agent reads it
    (``true`` too); nulls and nested containers of data are left out. An empty list fails."""
    items = need_list(env, fn, lst)
    if not items:
        raise FunctionError(f"Function '{fn}': the list is empty", quiet=True)
    return [x if x is not None else 0.0 for x in map(cf_real, items)]


@function("mean", "real", 1, 1)
def mean(env: FnEnv, lst: Any) -> str:
    """mean(list): the arithmetic mean of the numeric items."""
    nums = _reals(env, "mean", lst)
    return fmt_real(sum(nums) / len(nums))


@function("variance", "real", 1, 1)
def variance(env: FnEnv, lst: Any) -> str:
    """variance(list): the sample variance of the numeric items (0 for one item)."""
    import statistics

    nums = _reals(env, "variance", lst)
    return fmt_real(statistics.variance(nums) if len(nums) > 1 else 0.0)
