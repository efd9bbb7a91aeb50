"""Regex tests over lists and arrays, and regex captures as data:
reglist, regarray, data_regextract."""

from __future__ import annotations

from engine.eval.functions._util import full_match, pcre
from engine.eval.functions.arrays import array_items
from engine.eval.functions.registry import FnEnv, function, need_list
from engine.eval.values import Data


@function("reglist", "class", 2, 2)
def reglist(env: FnEnv, lst: str, regex: str) -> bool:
    """reglist(list, regex): true when ``regex`` matches some item of the list completely."""
    return any(full_match(regex, it) for it in need_list(env, "reglist", lst))


@function("regarray", "class", 2, 2)
def regarray(env: FnEnv, array: str, regex: str) -> bool:
    """regarray(array, regex): true when ``regex`` matches some value of the classic
    array completely."""
    items = array_items(env, array) or []
    return any(full_match(regex, v) for _, v in items)


@function("data_regextract", "data", 2, 2)
def data_regextract(env: FnEnv, regex: str, s: str) -> Data:
    """data_regextract(regex, string): the first match of ``regex`` in ``string`` as an
    object: ``"0"`` the whole match, each group under its number, or its name when it
    has one (``^``/``$`` match at lines, ``.`` matches newlines). The call fails when
    nothing matches."""
    from engine.eval.functions.registry import FunctionError

    rx = pcre("(?ms)" + regex)  # cf-agent matches in multi-line, dot-all mode here
    m = rx.search(s)
    if m is None:
        raise FunctionError(f"Function 'data_regextract': '{regex}' does not match", quiet=True)
    named = {i: n for n, i in rx.groupindex.items()}
    out = {"0": m.group(0)}
    for i in range(1, (rx.groups or 0) + 1):
        out[named.get(i, str(i))] = m.group(i) or ""
    return Data(out)
