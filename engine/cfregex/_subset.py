"""Which policy regexes the stdlib ``re`` may run, and on which subjects.

The ``regex`` engine gives vigil PCRE's dialect and a time limit per call, but its
import (~6 ms) and each compile (~0.3 ms) are start-up cost most runs need not pay:
masterfiles' patterns are ``\\s+``, ``#[^\\n]*``, ``(:|\\s+)``. A pattern runs in ``re``
when two things are shown before the call, else it runs in ``regex`` as before.

Same answer. The pattern stays inside a subset where ``re`` and ``regex`` (version 0,
the flags cf-agent asks for) agree, which a differential property test checks
(tests/engine/cfregex): literal characters (no surrogates), ASCII punctuation escaped
with a backslash, ``\\n \\r \\t \\f \\xHH``, ``.``, ``^``, ``$``, character classes of
literals, ranges and class escapes (no ``[:x:]``, ``]`` first, or ``-`` between a range
and another item), groups ``(...)``, ``(?:...)``, ``(?P<name>...)``, alternation, and
greedy or lazy ``* + ? {n} {n,} {n,m} {,m}`` (m ≤ 1000; no possessive or repeated
quantifier), after leading ``(?i)``, ``(?m)``, ``(?s)`` flags only. Some escapes agree
on most subjects only, and the pattern runs in ``re`` on those: ``\\s``, ``\\S`` (not
``\\S`` in a class) where the subject has none of \\x1c-\\x1f (``re``'s ``\\s`` takes
them, ``regex``'s does not; spelling White_Space out instead costs a slow compile and a
slower match), ``\\d \\w \\b``, ``\\D \\W`` (not in a class) and ``(?i)`` on an ASCII
subject (beyond it they differ: Unicode versions, marks, case folding). Everything else
(lookaround, backreferences, atomic groups, ``\\A``, ``\\z``, ``\\B``, ``\\h``, POSIX
classes, ...) goes to ``regex``.

The cost a call may take in ``re`` is :mod:`._cost`'s.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # (the agent starts without importing typing)
    from typing import Any

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_MAX_COUNT = 1000
_MAX_DEPTH = 50
_FEW = 64  # the most characters a class may hold to be checked against a repeat's set

# tree nodes, for the cost: (CHAR, chars) one character, chars the few it can be (None:
# many); (ZERO,) an anchor; (SEQ, items, fused): fused the indexes of repeats of one
# character whose next item is a character outside their set; (ALT, branches);
# (REP, lo, hi, inner, key, width, lazy): hi None when unbounded, key the inner atom's re
# spelling when it is one character (None for a group), width the group's least width
CHAR, ZERO, SEQ, ALT, REP = range(5)
if TYPE_CHECKING:
    Node = tuple[Any, ...]


class Shape:
    """A pattern ``re`` may run: its ``re`` spelling and what the cost needs."""

    __slots__ = ("source", "flags", "ascii_only", "spaces", "gated", "tree", "repeats")

    def __init__(self, source: str, flags: int, ascii_only: bool, spaces: bool, tree: Node,
                 repeats: bool) -> None:
        self.source = source
        self.flags = flags
        self.ascii_only = ascii_only  #: re answers as regex on an ASCII subject only
        self.spaces = spaces  #: ... on a subject without \\x1c-\\x1f only
        self.gated = ascii_only or spaces
        self.tree = tree
        self.repeats = repeats  #: a single-character set is under a quantifier

    def admits(self, s: str) -> bool:
        """Whether re answers as regex on the subject ``s``."""
        if self.ascii_only and not s.isascii():
            return False
        return not (self.spaces and ("\x1c" in s or "\x1d" in s or "\x1e" in s or "\x1f" in s))


class _Part:
    """A parsed piece: its tree node, its re spelling, what quantifying it needs."""

    __slots__ = ("node", "source", "width", "choice", "zero", "group")

    def __init__(self, node: Node, source: str, width: int, choice: bool, zero: bool,
                 group: bool) -> None:
        self.node = node
        self.source = source
        self.width = width  # the fewest characters it matches
        self.choice = choice  # holds an alternation or a quantifier
        self.zero = zero  # holds an anchor
        self.group = group


class _Reject(Exception):
    """Outside the subset: the pattern goes to ``regex``."""


def shape(pattern: str, dotall: bool, multiline: bool) -> Shape | None:
    """The pattern's :class:`Shape`, or None when ``re`` may not run it."""
    flags = (re.DOTALL if dotall else 0) | (re.MULTILINE if multiline else 0)
    i = 0
    while pattern.startswith("(?", i):
        end = pattern.find(")", i)
        letters = pattern[i + 2:end]
        if end < 0 or not letters or letters.strip("ims"):
            break
        for f in letters:
            flags |= _FLAGS[f]
        i = end + 1
    if flags & re.IGNORECASE and not pattern.isascii():
        return None
    parser = _Parser(pattern, i, flags)
    try:
        part = parser.alternation(0)
    except _Reject:
        return None
    if parser.i != len(pattern):  # an unbalanced ')'
        return None
    return Shape(part.source, flags, parser.ascii_only or bool(flags & re.IGNORECASE),
                 parser.spaces, part.node, parser.repeats)


def _escaped(c: str) -> str:
    """c as a literal in ``re``, in or out of a class."""
    return "\\" + c if c.isascii() and not c.isalnum() else c


class _Parser:
    """Recursive descent over the subset; builds the ``re`` spelling and the tree."""

    def __init__(self, pattern: str, i: int, flags: int) -> None:
        self.p = pattern
        self.i = i
        self.flags = flags
        self.ascii_only = False
        self.spaces = False
        self.repeats = False

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.p[j] if j < len(self.p) else ""

    def alternation(self, depth: int) -> _Part:
        if depth > _MAX_DEPTH:
            raise _Reject
        branches = [self.sequence(depth)]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence(depth))
        if len(branches) == 1:
            return branches[0]
        return _Part((ALT, tuple(b.node for b in branches)), "|".join(b.source for b in branches),
                     min(b.width for b in branches), True, any(b.zero for b in branches), False)

    def sequence(self, depth: int) -> _Part:
        items: list[_Part] = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.quantified(self.atom(depth)))
        if len(items) == 1:
            return items[0]
        nodes = tuple(x.node for x in items)
        fused = frozenset(k for k in range(len(nodes) - 1) if self.refuses(nodes[k], nodes[k + 1]))
        return _Part((SEQ, nodes, fused), "".join(x.source for x in items),
                     sum(x.width for x in items), any(x.choice for x in items),
                     any(x.zero for x in items), False)

    def refuses(self, rep: Node, nxt: Node) -> bool:
        """Whether ``nxt`` is one character that ``rep``, a repeat of one character,
        cannot match: then every back-off (or lazy step) but one leaves ``nxt`` a
        character of the repeat's set, which it refuses at once."""
        if rep[0] != REP or rep[4] is None or nxt[0] != CHAR or nxt[1] is None:
            return False
        chars = nxt[1]
        if self.flags & re.IGNORECASE:
            chars = chars | {c.swapcase() for c in chars}
        own = re.compile(rep[4], self.flags)
        return not any(own.fullmatch(c) for c in chars)

    def quantified(self, atom: _Part) -> _Part:
        c = self.peek()
        if c == "*":
            lo, hi, end = 0, None, self.i + 1
        elif c == "+":
            lo, hi, end = 1, None, self.i + 1
        elif c == "?":
            lo, hi, end = 0, 1, self.i + 1
        elif c == "{":
            lo, hi, end = self.count()
        else:
            return atom
        if atom.zero or atom.width == 0 or (atom.group and atom.choice and hi is None):
            raise _Reject
        source = atom.source + self.p[self.i:end]
        self.i = end
        lazy = self.peek() == "?"
        if lazy:
            source += "?"
            self.i += 1
        if self.peek() in ("*", "+", "?", "{"):
            raise _Reject  # possessive or repeated quantifier
        key = None if atom.group else atom.source
        self.repeats = self.repeats or key is not None
        return _Part((REP, lo, hi, atom.node, key, atom.width, lazy), source, lo * atom.width,
                     True, False, False)

    def count(self) -> tuple[int, int | None, int]:
        """``{n}``, ``{n,}``, ``{n,m}`` or ``{,m}`` at i: (lo, hi or None, its end)."""
        end = self.p.find("}", self.i)
        body = self.p[self.i + 1:end].split(",") if end > 0 else []
        if (not 1 <= len(body) <= 2 or not all(x.isascii() and x.isdigit() or x == "" for x in body)
                or body == ["", ""] or body[0] == "" and len(body) == 1
                or any(len(x) > 4 for x in body)):
            raise _Reject  # a literal '{' (or a count regex reads otherwise)
        lo = int(body[0] or 0)
        hi = lo if len(body) == 1 else int(body[1]) if body[1] else None
        if lo > _MAX_COUNT or (hi is not None and (hi > _MAX_COUNT or hi < lo)):
            raise _Reject
        return lo, hi, end + 1

    def atom(self, depth: int) -> _Part:
        c = self.p[self.i]
        if c == "(":
            return self.group(depth)
        if c == "[":
            return self.char_class()
        if c == "\\":
            return self.escape()
        self.i += 1
        if c == ".":
            return _char(".", None)
        if c in "^$":
            return _Part((ZERO,), c, 0, False, True, False)
        if c in "*+?{" or "\ud800" <= c <= "\udfff":
            raise _Reject  # nothing to repeat, a literal '{', a lone surrogate
        return _char(_escaped(c), frozenset(c))

    def group(self, depth: int) -> _Part:
        p, i = self.p, self.i
        if p.startswith("(?:", i):
            head = "(?:"
        elif p.startswith("(?P<", i):
            end = p.find(">", i)
            name = p[i + 4:end]
            if end < 0 or not (name.isascii() and name.isidentifier()):
                raise _Reject
            head = p[i:end + 1]
        elif p.startswith("(?", i):
            raise _Reject
        else:
            head = "("
        self.i = i + len(head)
        inner = self.alternation(depth + 1)
        if self.peek() != ")":
            raise _Reject
        self.i += 1
        return _Part(inner.node, head + inner.source + ")", inner.width, inner.choice,
                     inner.zero, True)

    def escape(self) -> _Part:
        c = self.peek(1)
        if c == "b":  # (not \B: re finds no \B in an empty string, regex does)
            self.i += 2
            self.ascii_only = True
            return _Part((ZERO,), "\\" + c, 0, False, True, False)
        item, is_set = self.class_escape(in_class=False)
        return _char(item, None) if is_set else _char(_escaped_char(item), frozenset(item))

    def class_escape(self, in_class: bool) -> tuple[str, bool]:
        """The escape at i: (a literal character, False) or (a set's spelling, True)."""
        c = self.peek(1)
        self.i += 2
        if c in ("d", "w") or (c in ("D", "W") and not in_class):
            # (a negated class escape inside a class: regex reads [^\d\D] as "any")
            self.ascii_only = True
            return "\\" + c, True
        if c == "s" or (c == "S" and not in_class):
            self.spaces = True
            return "\\" + c, True
        if c in ("n", "r", "t", "f"):
            return {"n": "\n", "r": "\r", "t": "\t", "f": "\f"}[c], False
        if c == "x":
            hh = self.p[self.i:self.i + 2]
            if len(hh) == 2 and all(h in "0123456789abcdefABCDEF" for h in hh):
                self.i += 2
                return chr(int(hh, 16)), False
            raise _Reject
        if c and c.isascii() and not c.isalnum():
            return c, False
        raise _Reject

    def char_class(self) -> _Part:
        self.i += 1
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        first = self.i
        parts: list[str] = []
        chars: set[str] | None = set()
        while True:
            c = self.peek()
            if c == "" or (c == "]" and self.i == first):
                raise _Reject  # unterminated, or ']' first (read differently by some)
            if c == "]":
                break
            if c == "-" and self.i != first and self.peek(1) != "]":
                raise _Reject  # '-' after a range or a set: engines differ
            item, is_set = self.class_item()
            if is_set:
                parts.append(item)
                chars = None
            elif self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                hi, hi_set = self.class_item()
                if hi_set or hi < item:
                    raise _Reject
                parts.append(_escaped(item) + "-" + _escaped(hi))
                if chars is not None and ord(hi) - ord(item) < _FEW:
                    chars.update(chr(o) for o in range(ord(item), ord(hi) + 1))
                else:
                    chars = None
            else:
                parts.append(_escaped(item))
                if chars is not None:
                    chars.add(item)
        self.i += 1
        few = None if negate or chars is None or len(chars) > _FEW else frozenset(chars)
        return _char("[" + ("^" if negate else "") + "".join(parts) + "]", few)

    def class_item(self) -> tuple[str, bool]:
        c = self.peek()
        if c == "\\":
            return self.class_escape(in_class=True)
        if c == "[" and self.peek(1) in (":", "=", "."):
            raise _Reject  # a POSIX class or collating element
        if "\ud800" <= c <= "\udfff":
            raise _Reject
        self.i += 1
        return c, False


def _escaped_char(c: str) -> str:
    """A literal character from an escape, spelled for ``re`` outside a class."""
    if c in "\n\r\t\f":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[c]
    return _escaped(c)


def _char(source: str, chars: frozenset[str] | None) -> _Part:
    return _Part((CHAR, chars), source, 1, False, False, False)
