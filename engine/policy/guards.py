"""Syntax check of class guards (``linux.!debian::``), as strict as cf-promises 3.21.

The grammar (operators from loosest to tightest)::

    or      := and (("|" | "||") and)*
    and     := not (("." | "&") not)*
    not     := "!" primary | primary
    primary := "(" or ")" | name

cf-promises rejects an operator without an operand, an empty or unclosed ``( )``, a
doubled ``!`` and names separated only by whitespace; it accepts text left over after
a complete expression (``a!b``), and so do we. Evaluation is not done here.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache


@cache
def _spaced_names() -> re.Pattern[str]:
    return re.compile(r"[\w:)][ \t]+[\w:(!]")


@cache
def _name() -> re.Pattern[str]:
    return re.compile(r"[\w:]+")


class GuardError(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


@lru_cache(maxsize=4096)
def check_guard(expr: str) -> GuardError | None:
    """``None`` when ``expr`` (the text before ``::``) is a valid guard, else the error.
    Cached: the same guards recur across a policy's files (the result is only read)."""
    m = _spaced_names().search(expr)
    if m is not None:
        return GuardError(
            m.end() - 1, "class names can't be separated by whitespace without an operator"
        )
    s = expr.replace(" ", "").replace("\t", "")
    if not s:
        return None
    try:
        _Checker(s).parse_or(0)
    except GuardError as e:
        return e
    return None


# parentheses a guard may nest: policy is data, a deeper one is an error, not a crash
MAX_NESTING = 100


class _Checker:
    __slots__ = ("s", "depth")

    def __init__(self, s: str) -> None:
        self.s = s
        self.depth = 0

    def parse_or(self, i: int) -> int:
        s = self.s
        i = self.parse_and(i)
        while i < len(s) and s[i] == "|":
            i += 2 if s.startswith("||", i) else 1
            i = self.parse_and(i)
        return i

    def parse_and(self, i: int) -> int:
        s = self.s
        i = self.parse_not(i)
        while i < len(s) and s[i] in ".&":
            i = self.parse_not(i + 1)
        return i

    def parse_not(self, i: int) -> int:
        if i < len(self.s) and self.s[i] == "!":
            return self.parse_primary(i + 1)
        return self.parse_primary(i)

    def parse_primary(self, i: int) -> int:
        s = self.s
        if i < len(s) and s[i] == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise GuardError(i, f"class expression nested deeper than {MAX_NESTING} levels")
            j = self.parse_or(i + 1)
            self.depth -= 1
            if j >= len(s) or s[j] != ")":
                raise GuardError(j, "expected ')' in class expression")
            return j + 1
        m = _name().match(s, i)
        if m is None:
            found = f"'{s[i]}'" if i < len(s) else "the end"
            raise GuardError(i, f"expected a class name in class expression, found {found}")
        return m.end()
