"""Class expressions: ``linux.!debian``, ``(a|b)&c``, ``!any``.

Precedence as cf-agent has it, loosest first: ``|``/``||``, then ``.``/``&``,
then ``!``; parentheses group. Expressions are compiled once into a tree of
tuples and cached, since the same guards are evaluated for every promise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_TOKEN = re.compile(r"\s*(?:(\|\|?)|([.&])|(!)|(\()|(\))|([A-Za-z0-9_:]+))")

# Node shapes: ("c", name) | ("!", node) | ("&", (nodes...)) | ("|", (nodes...))
Node = tuple


class ClassExprError(ValueError):
    """An expression that does not parse; ``column`` counts from 0."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


def _tokenize(expr: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    end = len(expr.rstrip())
    while pos < end:
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ClassExprError(f"unexpected character {expr[pos]!r} in class expression", pos)
        kinds = ("|", "&", "!", "(", ")", "name")
        for i, kind in enumerate(kinds, start=1):
            if m.group(i) is not None:
                tokens.append((kind, m.group(i), m.start(i)))
                break
        pos = m.end()
    return tokens


# parentheses and negations a class expression may nest (policy is data: a deeper one
# is an error, not a stack overflow)
MAX_NESTING = 100


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = _tokenize(expr)
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def where(self) -> int:
        return self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.expr)

    def parse(self) -> Node:
        if not self.tokens:
            raise ClassExprError("empty class expression", 0)
        node = self.parse_or()
        if self.i != len(self.tokens):
            raise ClassExprError(
                f"unexpected {self.tokens[self.i][1]!r} in class expression", self.where()
            )
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.peek() == "|":
            self.i += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else ("|", tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.peek() == "&":
            self.i += 1
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else ("&", tuple(items))

    def parse_not(self) -> Node:
        if self.peek() == "!":
            self.i += 1
            self._deeper()
            node = ("!", self.parse_not())
            self.depth -= 1
            return node
        return self.parse_atom()

    def _deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ClassExprError(
                f"class expression nested deeper than {MAX_NESTING} levels", self.where())

    def parse_atom(self) -> Node:
        kind = self.peek()
        if kind == "(":
            self.i += 1
            self._deeper()
            node = self.parse_or()
            self.depth -= 1
            if self.peek() != ")":
                raise ClassExprError("expected ')' in class expression", self.where())
            self.i += 1
            return node
        if kind == "name":
            name = self.tokens[self.i][1]
            self.i += 1
            return ("c", name)
        if kind is None:
            raise ClassExprError("class expression ends where a class name was expected", self.where())
        raise ClassExprError(
            f"expected a class name, found {self.tokens[self.i][1]!r}", self.where()
        )


@lru_cache(maxsize=8192)
def compile_expr(expr: str) -> Node:
    """Parse ``expr``; raises :class:`ClassExprError`."""
    return _Parser(expr).parse()


def _eval(node: Node, is_defined: Callable[[str], bool]) -> bool:
    op = node[0]
    if op == "c":  # "true" holds in any expression though no class has that name, as in cf-agent
        return node[1] == "true" or is_defined(node[1])
    if op == "!":
        return not _eval(node[1], is_defined)
    # plain loops: all()/any() over a generator cost a generator per node, and this
    # runs for every guard of every promise in every pass
    if op == "&":
        for n in node[1]:  # noqa: SIM110 - a loop, not all(): see above
            if not _eval(n, is_defined):
                return False
        return True
    for n in node[1]:  # noqa: SIM110 - a loop, not any(): see above
        if _eval(n, is_defined):
            return True
    return False


def evaluate(expr: str, is_defined: Callable[[str], bool]) -> bool:
    """True when ``expr`` holds, asking ``is_defined`` about each class name."""
    if expr == "any":
        return True
    return _eval(compile_expr(expr), is_defined)


def class_names(expr: str) -> set[str]:
    """Every class name an expression mentions."""
    out: set[str] = set()

    def walk(node: Node) -> None:
        if node[0] == "c":
            out.add(node[1])
        elif node[0] == "!":
            walk(node[1])
        else:
            for n in node[1]:
                walk(n)

    walk(compile_expr(expr))
    return out

