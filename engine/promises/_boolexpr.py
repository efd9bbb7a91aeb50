"""``file_result`` / ``process_result`` expressions.

The names are selection criteria (``leaf_name``, ``mtime``, ``command``...);
operators follow class expressions: ``!`` binds tightest, then ``.`` and ``&``
(and), then ``|`` and ``||`` (or); parentheses group.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r"\s*(\|\||[()!.&|]|[A-Za-z0-9_]+)")


class ExprError(ValueError):
    pass


def evaluate(expr: str, truth: Callable[[str], bool]) -> bool:
    """Evaluate ``expr``; ``truth(name)`` says whether a criterion holds."""
    tokens = _tokenize(expr)
    pos, value = _or(tokens, 0, truth)
    if pos != len(tokens):
        raise ExprError(f"unexpected '{tokens[pos]}' in '{expr}'")
    return value


def _tokenize(expr: str) -> list[str]:
    out: list[str] = []
    i = 0
    expr = expr.strip()
    while i < len(expr):
        m = _TOKEN.match(expr, i)
        if not m:
            raise ExprError(f"cannot parse '{expr}' at {i}")
        out.append(m.group(1))
        i = m.end()
        while i < len(expr) and expr[i].isspace():
            i += 1
    return out


def _or(t: list[str], i: int, truth: Callable[[str], bool]) -> tuple[int, bool]:
    i, v = _and(t, i, truth)
    while i < len(t) and t[i] in ("|", "||"):
        i, w = _and(t, i + 1, truth)
        v = v or w
    return i, v


def _and(t: list[str], i: int, truth: Callable[[str], bool]) -> tuple[int, bool]:
    i, v = _not(t, i, truth)
    while i < len(t) and t[i] in (".", "&"):
        i, w = _not(t, i + 1, truth)
        v = v and w
    return i, v


def _not(t: list[str], i: int, truth: Callable[[str], bool]) -> tuple[int, bool]:
    if i >= len(t):
        raise ExprError("expression ends too early")
    if t[i] == "!":
        i, v = _not(t, i + 1, truth)
        return i, not v
    if t[i] == "(":
        i, v = _or(t, i + 1, truth)
        if i >= len(t) or t[i] != ")":
            raise ExprError("missing ')'")
        return i + 1, v
    if t[i] in (")", ".", "&", "|", "||"):
        raise ExprError(f"unexpected '{t[i]}'")
    return i + 1, truth(t[i])


def parse_range(value: object) -> tuple[float, float] | None:
    """``irange``/``rrange`` values (``"lo,hi"`` or ``[lo, hi]``) -> ``(lo, hi)``."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        parts = [str(x) for x in value]
    else:
        parts = str(value).split(",")
    if len(parts) != 2:
        return None
    try:
        lo, hi = (_num(p) for p in parts)
    except ValueError:
        return None
    return (min(lo, hi), max(lo, hi))


_SUFFIX = {"k": 1024, "m": 1024**2, "g": 1024**3, "K": 1000, "M": 1000**2, "G": 1000**3}


def _num(s: str) -> float:
    s = s.strip()
    if s in ("inf", "infinity"):
        return float("inf")
    if s and s[-1] in _SUFFIX:
        return float(s[:-1]) * _SUFFIX[s[-1]]
    return float(s)
