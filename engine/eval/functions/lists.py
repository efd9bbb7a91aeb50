"""List functions: join, length, nth, sort, filter, grep, sublist, maplist, ..."""

from __future__ import annotations

import re

from engine.eval.functions._util import cf_int, fmt_real, full_match, need_int
from engine.eval.functions.format_fn import atof
from engine.eval.functions.registry import (
    FnEnv,
    FunctionError,
    as_data,
    as_list,
    classic_array,
    function,
    need_list,
    scalar_str,
    strip_ref,
)
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


@function("join", "string", 2, 2)
def join(env: FnEnv, glue: str, lst: Any) -> str:
    """join(glue, list): the list's items with ``glue`` between them."""
    return glue.join(need_list(env, "join", lst))


def _container(env: FnEnv, arg: Any) -> Any:
    """The list or JSON container behind an argument, or None."""
    if isinstance(arg, (list, Data)):
        return arg.value if isinstance(arg, Data) else arg
    if isinstance(arg, str):
        if arg.lstrip()[:1] in ("[", "{"):
            return as_data(env, arg)  # inline JSON
        v = env.get_var(strip_ref(arg))
        if isinstance(v, Data):
            return v.value
        if isinstance(v, (list, dict)):  # a list, or a container inside data: "d[k]"
            return v
    return None


def _container_or_array(env: FnEnv, arg: Any) -> Any:
    """:func:`_container`, or the classic array ``arg`` names."""
    v = _container(env, arg)
    if v is None and isinstance(arg, str):
        v = classic_array(env, strip_ref(arg))
    return v


@function("length", "int", 1, 1)
def length(env: FnEnv, lst: Any) -> str:
    """length(list_or_container): the number of elements."""
    v = _container_or_array(env, lst)
    if isinstance(v, (list, dict)):
        return str(len(v))
    raise FunctionError(f"Function 'length' was given '{lst}', which is not a list or container")


@function("nth", "string", 2, 2)
def nth(env: FnEnv, lst: Any, index: str) -> str:
    """nth(list_or_container, position_or_key): one element; negative positions count from the end."""
    v = _container_or_array(env, lst)
    if isinstance(v, dict):
        if index in v and v[index] is None:
            return "null"
        item = v.get(index)
    elif isinstance(v, list):
        i = cf_int(index)
        if i is None:
            raise FunctionError(f"Function 'nth': '{index}' is not a valid index")
        if i < 0:
            i += len(v)
        if not 0 <= i < len(v):
            raise FunctionError(f"Function 'nth': index {index} out of range for '{lst}'")
        item = v[i]
        if item is None:
            return "null"
    else:
        raise FunctionError(f"Function 'nth' was given '{lst}', which is not a list or container")
    s = scalar_str(item)
    if s is None:
        raise FunctionError(f"Function 'nth' could not find element '{index}' of '{lst}'")
    return s


@function("reverse", "slist", 1, 1)
def reverse(env: FnEnv, lst: Any) -> list[str]:
    """reverse(list): the list backwards."""
    return need_list(env, "reverse", lst)[::-1]


# -- sort keys: valid items sort by value after the invalid ones, which sort as strings.
_LEAD_INT = re.compile(r"\s*[-+]?\d+")


def _int_key(s: str) -> tuple[int, Any]:
    m = _LEAD_INT.match(s)
    return (1, int(m.group(0))) if m else (0, s)


_LEAD_REAL = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _real_key(s: str) -> tuple[int, Any]:
    return (1, atof(s)) if _LEAD_REAL.match(s) else (0, s)


def _ipv4(s: str) -> tuple[int, ...] | None:
    parts = s.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts):
        return None
    return tuple(int(p) for p in parts)


def _ipv6(s: str) -> tuple[int, ...] | None:
    if s.count("::") > 1:
        return None
    head, sep, tail = s.partition("::")
    h = head.split(":") if head else []
    t = tail.split(":") if tail else []
    groups = h + t
    if not all(1 <= len(g) <= 4 and all(c in "0123456789abcdefABCDEF" for c in g) for g in groups):
        return None
    if (sep and len(groups) > 7) or (not sep and len(groups) != 8):
        return None
    vals = [int(g, 16) for g in h] + [0] * (8 - len(groups)) + [int(g, 16) for g in t]
    return tuple(vals)


def _ip_key(s: str) -> tuple[int, Any]:
    v4 = _ipv4(s)
    if v4 is not None:
        return (1, (4, v4))
    v6 = _ipv6(s)
    if v6 is not None:
        return (1, (6, v6))
    return (0, s)


def _mac_key(s: str) -> tuple[int, Any]:
    parts = s.split(":")
    if len(parts) == 6 and all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts):
        return (1, tuple(int(p, 16) for p in parts))
    return (0, s)


_SORT_KEYS = {"int": _int_key, "real": _real_key, "IP": _ip_key, "ip": _ip_key, "MAC": _mac_key, "mac": _mac_key}


@function("sort", "slist", 1, 2)
def sort(env: FnEnv, lst: Any, mode: str = "lex") -> list[str]:
    """sort(list, mode): sorted by ``lex``, ``int``, ``real``, ``IP`` or ``MAC``.

    Items that do not parse in the chosen mode come first, as strings; equal items
    come out in reverse input order, as cf-agent's list sort leaves them.
    """
    items = need_list(env, "sort", lst)[::-1]
    if mode == "lex":
        return sorted(items)
    key = _SORT_KEYS.get(mode)
    if key is None:
        raise FunctionError(f"Function 'sort': unknown sort mode '{mode}'")
    return sorted(items, key=key)


@function("unique", "slist", 1, 1)
def unique(env: FnEnv, lst: Any) -> list[str]:
    """unique(list): the list without repeats, first occurrences kept in order."""
    return list(dict.fromkeys(need_list(env, "unique", lst)))


def _bool_arg(fn: str, s: str) -> bool:
    if s in ("true", "yes", "on"):
        return True
    if s in ("false", "no", "off"):
        return False
    raise FunctionError(f"Function '{fn}': '{s}' is not a boolean")


@function("filter", "slist", 5, 5)
def filter_(env: FnEnv, pattern: str, lst: Any, is_regex: str, invert: str, maximum: str) -> list[str]:
    """filter(filter, list, is_regex, invert, max_return): items equal to (or fully
    matching) ``filter``, or the others when ``invert``; at most ``max_return``."""
    items = need_list(env, "filter", lst)
    rx, inv = _bool_arg("filter", is_regex), _bool_arg("filter", invert)
    limit = need_int("filter", maximum)
    out: list[str] = []
    for it in items:
        if len(out) >= limit:
            break
        hit = full_match(pattern, it) if rx else it == pattern
        if hit != inv:
            out.append(it)
    return out


@function("grep", "slist", 2, 2)
def grep(env: FnEnv, regex: str, lst: Any) -> list[str]:
    """grep(regex, list): the items that ``regex`` matches completely."""
    return [it for it in need_list(env, "grep", lst) if full_match(regex, it)]


@function("every", "class", 2, 2)
def every(env: FnEnv, regex: str, lst: Any) -> bool:
    """every(regex, list): true when the list is not empty and every item matches."""
    items = need_list(env, "every", lst)
    return bool(items) and all(full_match(regex, it) for it in items)


@function("some", "class", 2, 2)
def some(env: FnEnv, regex: str, lst: Any) -> bool:
    """some(regex, list): true when at least one item matches."""
    return any(full_match(regex, it) for it in need_list(env, "some", lst))


@function("none", "class", 2, 2)
def none(env: FnEnv, regex: str, lst: Any) -> bool:
    """none(regex, list): true when no item matches (also for an empty list)."""
    return not any(full_match(regex, it) for it in need_list(env, "none", lst))


@function("sublist", "slist", 3, 3)
def sublist(env: FnEnv, lst: Any, where: str, count: str) -> list[str]:
    """sublist(list, head|tail, max_elements): the first or last ``max_elements``."""
    items = need_list(env, "sublist", lst)
    n = need_int("sublist", count)
    if n < 0:
        raise FunctionError(f"Function 'sublist': invalid count '{count}'")
    if where == "head":
        return items[:n]
    if where == "tail":
        return items[len(items) - n :] if n < len(items) else list(items)
    raise FunctionError(f"Function 'sublist': expected 'head' or 'tail', got '{where}'")


def _numbers(env: FnEnv, fn: str, lst: Any) -> list[float]:
    out = []
    for it in need_list(env, fn, lst):
        if not _LEAD_REAL.fullmatch(it.strip()):
            raise FunctionError(f"Function '{fn}': '{it}' is not a number")
        out.append(float(it))
    return out


@function("sum", "real", 1, 1)
def sum_(env: FnEnv, lst: Any) -> str:
    """sum(list): the sum of the items, as a real."""
    return fmt_real(sum(_numbers(env, "sum", lst)))


@function("product", "real", 1, 1)
def product(env: FnEnv, lst: Any) -> str:
    """product(list): the product of the items, as a real (1 for an empty list)."""
    p = 1.0
    for x in _numbers(env, "product", lst):
        p *= x
    return fmt_real(p)


_SCALAR_REF = re.compile(r"\$\(([^()${}]+)\)|\$\{([^()${}]+)\}")


def expand_scalars(env: FnEnv, s: str) -> str:
    """Expand ``$(x)`` / ``${x}`` references to string variables, innermost first;
    references that do not resolve to a string stay as written."""
    for _ in range(10):
        def sub(m: re.Match[str]) -> str:
            v = env.get_var(m.group(1) or m.group(2))
            return v if isinstance(v, str) else m.group(0)

        new = _SCALAR_REF.sub(sub, s)
        if new == s:
            break
        s = new
    return s


def _apply_this(env: FnEnv, pattern: str, item: str) -> str:
    s = pattern.replace("$(this)", item).replace("${this}", item)
    if "$(" in s or "${" in s:
        s = expand_scalars(env, s)
    return s


@function("maplist", "slist", 2, 2, lazy_args=(0,))
def maplist(env: FnEnv, pattern: Any, lst: Any) -> list[str]:
    """maplist(pattern, list): ``pattern`` (text or a function call, evaluated late)
    with ``$(this)`` bound to each item."""
    items = need_list(env, "maplist", lst)
    lazy = getattr(env, "eval_lazy", None)
    if lazy is not None:
        return [lazy(pattern, {"this": it}) for it in items]
    return [_apply_this(env, pattern, it) for it in items]


@function("getvalues", "slist", 1, 1)
def getvalues(env: FnEnv, arg: Any) -> list[str]:
    """getvalues(array_or_container): the values; containers nested one level are flattened."""
    from engine.eval.functions.arrays import array_tree

    v = _container(env, arg)
    if v is None:
        plain = env.get_var(strip_ref(arg)) if isinstance(arg, str) else None
        if isinstance(plain, str):  # a string (or array element) is its own value
            return [plain]
        v = array_tree(env, arg)  # a classic array, nested levels included
        if v is None:
            return []
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    out: list[str] = []
    for x in v.values() if isinstance(v, dict) else v:
        if isinstance(x, (list, dict)):
            out.extend(s for s in map(_value_str, x.values() if isinstance(x, dict) else x) if s is not None)
        else:
            s = _value_str(x)
            if s is not None:
                out.append(s)
    return out


def _value_str(v: Any) -> str | None:
    """getvalues prints reals with two decimals, unlike join's four."""
    if isinstance(v, float):
        return f"{v:.2f}"
    return scalar_str(v)


@function("getindices", "slist", 1, 1)
def getindices(env: FnEnv, arg: Any) -> list[str]:
    """getindices(array_or_container): the keys (or positions) of an array or container."""
    from engine.eval.functions.arrays import array_keys

    v = _container(env, arg)
    if isinstance(v, dict):
        return list(v.keys())
    if isinstance(v, list):
        ref = strip_ref(arg) if isinstance(arg, str) else ""
        in_data = isinstance(env.get_var(ref.partition("[")[0]), Data) if ref else False
        if isinstance(arg, Data) or in_data or (ref and arg.lstrip()[:1] == "["):
            return [str(i) for i in range(len(v))]  # a data array (or inline JSON)
        return []
    keys = array_keys(env, arg)
    return keys if keys is not None else []


def list_or_empty(env: FnEnv, arg: Any) -> list[str]:
    """A list argument, or [] when it names nothing (set functions accept that)."""
    v = as_list(env, arg)
    return v if v is not None else []
