"""Tokens of the CFEngine 3 policy language, cut by one compiled regular expression.

The scanner is a single ``re.finditer`` over a master pattern; each match swallows the
whitespace and ``#`` comments before a token, so Python only touches real tokens.
A token is a plain tuple ``(kind, text, offset)``; positions become line/column only
when a node needs one (:class:`LineIndex`).

Token kinds:

====  =================================================================
S     quoted string, ``"..."``, ``'...'`` or ```...``` (text keeps the quotes)
C     ``::`` (after a string it makes a quoted class guard, ``"$(x)"::``)
G     class guard, ``linux.!debian::``
T     promise type, ``vars:``
K     a whole ``name => "string"`` and the ``,`` or ``;`` after it: the common case
      in one match (the tuple also carries the string, its offset and the separator)
L     attribute name followed by ``=>`` (text is the name alone)
I     identifier or namespaced name (``p``, ``default:p``)
V     naked variable reference, ``$(x)``, ``${x}``, ``@(list)``
A     ``=>`` not preceded by a name
R     ``->``
P     punctuation, one of ``{ } ( ) , ;``
X     anything else (a stray character, or the quote of an unterminated string)
E     end of input
====  =================================================================

Before scanning, ``@if``/``@else``/``@endif`` lines are resolved the way cf-promises
3.21 does (see :mod:`engine.policy.macros`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from engine.policy.ast import Pos

# (kind, text, offset); a K token adds (value text, value offset, separator, its offset).
Token = tuple[Any, ...]

_DQ = r'"(?:[^"\\]++|\\.)*+"'
_SQ = r"'(?:[^'\\]++|\\.)*+'"
_BQ = r"`[^`]*+`"

# Alternatives are tried in order; possessive quantifiers keep failed attempts cheap.
# A guard must be tried before "(" and names; an attribute name is only a name
# followed by "=>" (so "=>" never needs a token of its own in valid policy).
_MASTER = re.compile(
    rf"""
    (?:\s++|\#[^\n]*+)*+                                  # whitespace and comments
    (?:
      (?P<K>\w++)[ \t\r\n]*+=>\s*+(?P<KV>{_DQ}|{_SQ})\s*+(?P<KE>[,;])
     |(?P<S>{_DQ}|{_SQ}|{_BQ})
     |(?P<L>\w++)[ \t\r\n]*+=>
     |(?P<G>[.|&!()\w:](?:[ \t.|&!()\w]++|:(?=\w))*+::)
     |(?P<P>[{{}}(),;])
     |(?P<T>[A-Za-z_]\w*+:(?![:\w]))
     |(?P<I>\w++(?::\w++)?+)
     |(?P<V>[$@](?:\((?:[^()\s]|\([^()\s]*\))*\)|\{{(?:[^{{}}\s]|\{{[^{{}}\s]*\}})*\}}))
     |(?P<C>::)
     |(?P<A>=>)
     |(?P<R>->)
     |(?P<E>\Z)
     |(?P<X>.)
    )
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPE = re.compile(r"""\\([\\"'])""")


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, ending with one ``E`` token at the end of input."""
    toks = [
        (k, m.group(k), m.start(k))
        if (k := m.lastgroup) != "KE"
        else (
            "K",
            m.group("K"),
            m.start("K"),
            m.group("KV"),
            m.start("KV"),
            m.group("KE"),
            m.start("KE"),
        )
        for m in _MASTER.finditer(text)
    ]
    # Trailing whitespace makes finditer report the end twice; keep one E.
    while len(toks) > 1 and toks[-2][0] == "E":
        toks.pop()
    return toks  # type: ignore[return-value]


def decode_string(token_text: str) -> str:
    """The value of a quoted string token: quotes removed, ``\\\\ \\" \\'`` decoded.

    cf-agent decodes exactly these three escapes, in all three quote styles; every
    other backslash stays as written (``"\\n"`` is a backslash and an ``n``).
    """
    body = token_text[1:-1]
    if "\\" in body:
        return _ESCAPE.sub(r"\1", body)
    return body


class LineIndex:
    """Offsets to 1-based line/column positions for one file."""

    __slots__ = ("path", "starts")

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        starts = [0]
        find = text.find
        i = find("\n")
        while i >= 0:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self.starts = starts

    def pos(self, offset: int) -> Pos:
        line = bisect_right(self.starts, offset)
        return Pos(self.path, line, offset - self.starts[line - 1] + 1)

    def line(self, offset: int) -> int:
        return bisect_right(self.starts, offset)
