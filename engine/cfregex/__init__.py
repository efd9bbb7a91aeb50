"""CFEngine's regular expressions: PCRE syntax, a bounded cost, one owner.

Policy regexes are data the agent does not control: ``(a+)+$`` against a long
string must not hang a run. cf-agent relies on PCRE's match limit; vigil runs a
match through the ``regex`` engine (PCRE-like: POSIX classes, ``(?<name>…)``,
``\\R``, ``\\h``, possessive quantifiers and atomic groups on every Python) with a
time limit per call. A pattern that does not compile raises :class:`RegexError`;
a match that exceeds the limit raises :class:`RegexLimit`, so the caller fails that
one function call or promise and the run goes on.

Most policy patterns are simple (``\\s+``, ``#[^\\n]*``, ``(policy slist|data array)``):
those run in the stdlib ``re``, already loaded, when :mod:`._subset` shows that ``re``
gives ``regex``'s answer and that the call's backtracking is bounded well under the
limit; the ``regex`` module is imported only for the first call that needs it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from engine.cfregex._cost import ALL, BUDGET, FULLMATCH, MATCH, SEARCH, cost
from engine.cfregex._subset import Shape, shape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

#: seconds one match, search, split or substitution may take in ``regex``
MATCH_TIME_LIMIT = 1.0

#: the longest subject a pattern remembers its last verdict for (it holds the text)
_MEMO_MAX = 1 << 20


class RegexError(ValueError):
    """A pattern that does not compile."""


class RegexLimit(RegexError):
    """A match that took longer than :data:`MATCH_TIME_LIMIT`."""


class Pattern:
    """A compiled policy regex; every operation is bounded: run in ``re`` when its
    cost is shown small, else in ``regex`` with a time limit."""

    __slots__ = ("pattern", "_dotall", "_multiline", "_std", "_shape", "_fits", "_over",
                 "_last", "_rx", "_too_slow")

    def __init__(self, pattern: str, dotall: bool, multiline: bool,
                 std: re.Pattern[str] | None, sh: Shape | None, rx: Any = None) -> None:
        self.pattern = pattern
        self._dotall = dotall
        self._multiline = multiline
        self._std = std
        self._shape = sh
        # per kind of call (MATCH, FULLMATCH, SEARCH, ALL): the longest subject whose
        # length alone was shown to fit the budget, the shortest shown not to
        self._fits = [-1, -1, -1, -1]
        self._over = [-1, -1, -1, -1]
        self._last: tuple[int, str, re.Pattern[str] | None] | None = None
        self._rx = rx
        # calls that already ran out of time: the same call fails at once next time
        # (cf-agent evaluates a promise in up to three passes)
        self._too_slow: set[tuple[Any, ...]] = set()

    @property
    def groups(self) -> int:
        return int((self._std or self._regex()).groups)

    @property
    def groupindex(self) -> dict[str, int]:
        return dict((self._std or self._regex()).groupindex)

    def _re_for(self, kind: int, s: str) -> re.Pattern[str] | None:
        """``re``'s compiled pattern when this call may run in it, else None."""
        sh = self._shape
        if sh is None or (sh.gated and not sh.admits(s)):
            return None
        n = len(s)
        if n <= self._fits[kind]:
            return self._std
        over = self._over[kind]
        if over < 0 or n < over:
            if cost(sh, kind, n) <= BUDGET:
                self._fits[kind] = n
                return self._std
            self._over[kind] = n
        # long for the pattern: bound each repeat by the subject's longest run of it
        # (the same call comes again in the next pass: its verdict is kept)
        last = self._last
        if last is not None and last[0] == kind and last[1] == s:
            return last[2]
        std = self._std if sh.repeats and cost(sh, kind, n, s) <= BUDGET else None
        if n <= _MEMO_MAX:
            self._last = (kind, s, std)
        return std

    def _regex(self) -> Any:
        if self._rx is None:
            self._rx = _compile_regex(self.pattern, self._dotall, self._multiline)
        return self._rx

    def _limited(self, name: str, *args: Any) -> Any:
        key = (name, *(a for a in args if isinstance(a, (str, int))))
        if self._too_slow and key in self._too_slow:
            raise self._limit_error()
        rx = self._regex()
        try:
            if name == "finditer":
                return list(rx.finditer(*args, timeout=MATCH_TIME_LIMIT))
            return getattr(rx, name)(*args, timeout=MATCH_TIME_LIMIT)
        except TimeoutError:
            self._too_slow.add(key)
            raise self._limit_error() from None

    def _limit_error(self) -> RegexLimit:
        return RegexLimit(f"Regular expression '{self.pattern}' exceeded its match limit "
                          f"({MATCH_TIME_LIMIT:g} s)")

    def match(self, s: str, pos: int = 0) -> Any:
        std = self._re_for(MATCH, s)
        return std.match(s, pos) if std is not None else self._limited("match", s, pos)

    def search(self, s: str, pos: int = 0) -> Any:
        std = self._re_for(SEARCH, s)
        return std.search(s, pos) if std is not None else self._limited("search", s, pos)

    def fullmatch(self, s: str) -> Any:
        std = self._re_for(FULLMATCH, s)
        return std.fullmatch(s) if std is not None else self._limited("fullmatch", s)

    def finditer(self, s: str) -> Iterator[Any]:
        std = self._re_for(ALL, s)
        return iter(list(std.finditer(s)) if std is not None else self._limited("finditer", s))

    def findall(self, s: str) -> list[Any]:
        std = self._re_for(ALL, s)
        return std.findall(s) if std is not None else list(self._limited("findall", s))

    def split(self, s: str, maxsplit: int = 0) -> list[str]:
        std = self._re_for(ALL, s)
        if std is not None:
            return std.split(s, maxsplit)
        return list(self._limited("split", s, maxsplit))

    def sub(self, repl: Any, s: str, count: int = 0) -> str:
        return self.subn(repl, s, count)[0]

    def subn(self, repl: Any, s: str, count: int = 0) -> tuple[str, int]:
        # a template with escapes or group references is expanded by regex's rules
        std = None if isinstance(repl, str) and "\\" in repl else self._re_for(ALL, s)
        out = std.subn(repl, s, count) if std is not None else self._limited("subn", repl, s,
                                                                              count)
        return str(out[0]), int(out[1])


#: characters that are literal when escaped with a backslash (PCRE and ``regex`` agree)
_ESCAPED_LITERAL = frozenset("\\.^$|?*+()[]{}/-:#@!%&=,;<>'\"~ ")
_META = frozenset("\\^$.|?*+()[]{}")
_QUANTIFIER = frozenset("*+?{")

#: a full-match plan: the leading atoms (literal text, or None for one ``.``), their
#: length in characters, and what the whole pattern is: "exact" (the atoms and
#: nothing else), "prefix" (the atoms, then ``.*``) or "" (more follows)
Plan = tuple[tuple["str | None", ...], int, str]


@lru_cache(maxsize=4096)
def full_match_plan(pattern: str) -> Plan | None:
    """What a full match of ``pattern`` (DOTALL, anchored at 0, ending at the end)
    needs of a subject without running the engine, when the pattern opens with plain
    atoms: literal characters, escaped punctuation and ``.``.

    Such a match has to begin with those atoms, so a subject that does not is no match
    (a prefilter); when the pattern is only those atoms (optionally after ``^`` and
    followed by ``.*``) the plan decides the match by itself. None when the pattern
    has an alternation (which could skip the atoms) or opens with anything else.
    """
    if "|" in pattern:
        return None
    atoms: list[str | None] = []
    starts: list[int] = []  # pattern offset where each atom begins
    i, n = 0, len(pattern)
    if pattern.startswith("^"):
        i = 1
    while i < n:
        c = pattern[i]
        if c in _QUANTIFIER:
            # the last atom is quantified: it is not a fixed part of the match
            if atoms:
                atoms.pop()
                i = starts.pop()
            break
        if c == ".":
            atoms.append(None)
            starts.append(i)
            i += 1
        elif c == "\\":
            if i + 1 < n and pattern[i + 1] in _ESCAPED_LITERAL:
                atoms.append(pattern[i + 1])
                starts.append(i)
                i += 2
            else:
                break
        elif c in _META:
            break
        else:
            atoms.append(c)
            starts.append(i)
            i += 1
    rest = pattern[i:]
    whole = "exact" if rest == "" else "prefix" if rest == ".*" else ""
    if not atoms and not whole:
        return None
    chunks: list[str | None] = []
    for a in atoms:
        last = chunks[-1] if chunks else None
        if a is not None and last is not None:
            chunks[-1] = last + a
        else:
            chunks.append(a)
    return tuple(chunks), len(atoms), whole


def plan_admits(plan: Plan, s: str) -> bool:
    """Whether ``s`` begins with the plan's atoms (and, for an "exact" plan, is no
    longer than them)."""
    chunks, length, whole = plan
    if len(s) < length or (whole == "exact" and len(s) != length):
        return False
    pos = 0
    for chunk in chunks:
        if chunk is None:
            pos += 1
        elif s.startswith(chunk, pos):
            pos += len(chunk)
        else:
            return False
    return True


def _compile_regex(pattern: str, dotall: bool, multiline: bool) -> Any:
    import regex

    flags = regex.V0
    if dotall:
        flags |= regex.DOTALL
    if multiline:
        flags |= regex.MULTILINE
    try:
        return regex.compile(pattern, flags)
    except (regex.error, OverflowError, RecursionError, ValueError) as e:
        raise RegexError(f"Regular expression error: '{pattern}': {e}") from None


@lru_cache(maxsize=4096)
def compile(pattern: str, dotall: bool = False,  # noqa: A001 - mirrors re.compile
            multiline: bool = False) -> Pattern:
    """Compile a PCRE pattern (cached). ``(?s)`` inside the pattern also turns on DOTALL."""
    sh = shape(pattern, dotall, multiline)
    if sh is not None:
        try:
            std = re.compile(sh.source, sh.flags)
        except (re.error, OverflowError, RecursionError, ValueError):
            pass  # a duplicate group name, say: regex words the error as it always did
        else:
            return Pattern(pattern, dotall, multiline, std, sh)
    return Pattern(pattern, dotall, multiline, None, None,
                   _compile_regex(pattern, dotall, multiline))


def full_match(pattern: str, s: str) -> bool:
    """CFEngine's "full" match (regcmp, classmatch, edit_line selections): the
    leftmost match must start at 0 and end at the end, so ``a|abc`` does not match
    ``abc`` (PCRE takes the first alternative), unlike ``re.fullmatch``. As in
    cf-agent (PCRE_DOTALL | PCRE_MULTILINE), ``.`` matches a newline and ``^``/``$``
    match at line ends, so ``.*error:.*`` matches a command's multi-line output."""
    m = compile(pattern, dotall=True, multiline=True).match(s)
    return m is not None and m.end() == len(s)
