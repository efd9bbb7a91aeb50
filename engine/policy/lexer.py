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
from functools import cache

from engine.policy._fastnodes import make_pos

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.policy.ast import Pos

# (kind, text, offset); a K token adds (value text, value offset, separator, its offset).
Token = tuple  # tuple[Any, ...]

# Plain greedy quantifiers only: possessive quantifiers and atomic groups mis-match on
# Python before 3.11.5 (Debian 12 ships 3.11.2), where a guard such as "any::" failed.
# Each repeat is written so that backtracking cannot find another match and gives up
# in one step per character: a string is a run of plain characters and escapes
# ("unrolled"), and a repeat is always followed by a character it cannot take.
_DQ = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_SQ = r"'[^'\\]*(?:\\.[^'\\]*)*'"
_BQ = r"`[^`]*`"
_GC = r"[ \t.|&!()\w]"  # a character of a guard; ":" only before a name (ns:class)

# Alternatives are tried in order. A guard must be tried before "(" and names; an
# attribute name is only a name followed by "=>" (so "=>" never needs a token of its own
# in valid policy); when a string and "," or ";" follow, the same match is a K token
# (its last group is KE). The last two alternatives match anywhere, so the leading
# whitespace is never backtracked into. Compiled on the first tokenize: a run whose
# files all come from the token cache never needs it (compiling costs ~5 ms).
_MASTER_SOURCE = (
    rf"""
    \s*(?:\#[^\n]*\s*)*                                  # whitespace and comments
    (?:
      (?P<L>\w+)[ \t\r\n]*=>(?:\s*(?P<KV>{_DQ}|{_SQ})\s*(?P<KE>[,;]))?
     |(?P<S>{_DQ}|{_SQ}|{_BQ})
     |(?P<G>[.|&!()\w:](?:{_GC}*:(?=\w))*{_GC}*::)
     |(?P<P>[{{}}(),;])
     |(?P<T>[A-Za-z_]\w*:(?![:\w]))
     |(?P<I>\w+(?::\w+)?)
     |(?P<V>[$@](?:\((?:[^()\s]|\([^()\s]*\))*\)|\{{(?:[^{{}}\s]|\{{[^{{}}\s]*\}})*\}}))
     |(?P<C>::)
     |(?P<A>=>)
     |(?P<R>->)
     |(?P<E>\Z)
     |(?P<X>.)
    )
    """
)


@cache
def _master() -> tuple[re.Pattern[str], tuple[str, ...]]:
    """The master pattern, and the token kind by group number (``m.lastindex``, the
    last group of the alternative that matched; a K token ends with group 3)."""
    rx = re.compile(_MASTER_SOURCE, re.VERBOSE | re.DOTALL)
    kinds = ("", *sorted(rx.groupindex, key=rx.groupindex.__getitem__))
    assert kinds[1:4] == ("L", "KV", "KE")
    return rx, kinds


@cache
def _escape() -> re.Pattern[str]:
    return re.compile(r"""\\([\\"'])""")


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, ending with one ``E`` token at the end of input."""
    master, kind = _master()
    toks = [
        # every alternative of the master pattern is a group: lastindex is never None
        (kind[i], m.group(i), m.start(i))  # type: ignore[index,arg-type]
        if (i := m.lastindex) != 3
        else ("K", m.group(1), m.start(1), m.group(2), m.start(2), m.group(3), m.start(3))
        for m in master.finditer(text)
    ]
    # Trailing whitespace makes finditer report the end twice; keep one E.
    while len(toks) > 1 and toks[-2][0] == "E":
        toks.pop()
    return toks


def decode_string(token_text: str) -> str:
    """The value of a quoted string token: quotes removed, ``\\\\ \\" \\'`` decoded.

    cf-agent decodes exactly these three escapes, in all three quote styles; every
    other backslash stays as written (``"\\n"`` is a backslash and an ``n``).
    """
    body = token_text[1:-1]
    if "\\" in body:
        return _escape().sub(r"\1", body)
    return body


def _bisect_right(a: list[int], x: int) -> int:
    """``bisect.bisect_right``, imported (a C extension to load) on first use."""
    global _bisect_right
    from bisect import bisect_right

    _bisect_right = bisect_right
    return bisect_right(a, x)


class LineIndex:
    """Offsets to 1-based line/column positions for one file.

    Positions asked for in increasing offset order (the parser's own, and most later
    look-ups) are counted forward from the previous one, so a file whose positions are
    never needed costs nothing; the first look-up behind the previous one builds the
    table of line starts, and from then on each look-up is a binary search.
    """

    __slots__ = ("path", "text", "starts", "_cursor")

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.text = text
        self.starts: list[int] | None = None
        # (offset, its line) of the last forward look-up; one tuple, so that a reader
        # on another thread never sees an offset with another offset's line.
        self._cursor = (0, 1)

    def pos(self, offset: int) -> Pos:
        starts = self.starts
        if starts is None:
            off, line = self._cursor
            if offset >= off:
                text = self.text
                line += text.count("\n", off, offset)
                self._cursor = (offset, line)
                return make_pos(self.path, line, offset - text.rfind("\n", 0, offset))
            starts = self._line_starts()
        line = _bisect_right(starts, offset)
        return make_pos(self.path, line, offset - starts[line - 1] + 1)

    def line(self, offset: int) -> int:
        return self.pos(offset).line

    def _line_starts(self) -> list[int]:
        text = self.text
        starts = [0]
        find = text.find
        i = find("\n")
        while i >= 0:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self.starts = starts
        return starts
