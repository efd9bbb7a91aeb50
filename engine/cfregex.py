"""CFEngine's regular expressions: PCRE syntax, a bounded cost, one owner.

Policy regexes are data the agent does not control: ``(a+)+$`` against a long
string must not hang a run. cf-agent relies on PCRE's match limit; vigil runs every
match through the ``regex`` engine (PCRE-like: POSIX classes, ``(?<name>…)``,
``\\R``, ``\\h``, possessive quantifiers and atomic groups on every Python) with a
time limit per call. A pattern that does not compile raises :class:`RegexError`;
a match that exceeds the limit raises :class:`RegexLimit`, so the caller fails that
one function call or promise and the run goes on.

The ``regex`` module is imported on the first pattern, not at start-up.
"""

from __future__ import annotations

from functools import lru_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

#: seconds one match, search, split or substitution may take
MATCH_TIME_LIMIT = 1.0


class RegexError(ValueError):
    """A pattern that does not compile."""


class RegexLimit(RegexError):
    """A match that took longer than :data:`MATCH_TIME_LIMIT`."""


class Pattern:
    """A compiled policy regex; every operation is time-limited."""

    __slots__ = ("pattern", "_rx", "_too_slow")

    def __init__(self, pattern: str, rx: Any) -> None:
        self.pattern = pattern
        self._rx = rx
        # calls that already ran out of time: the same call fails at once next time
        # (cf-agent evaluates a promise in up to three passes)
        self._too_slow: set[tuple[Any, ...]] = set()

    @property
    def groups(self) -> int:
        return int(self._rx.groups)

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._rx.groupindex)

    def _limited(self, op: Callable[..., Any], *args: Any) -> Any:
        if self._too_slow and self._key(op, args) in self._too_slow:
            raise self._limit_error()
        try:
            return op(*args, timeout=MATCH_TIME_LIMIT)
        except TimeoutError:
            self._too_slow.add(self._key(op, args))
            raise self._limit_error() from None

    @staticmethod
    def _key(op: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (getattr(op, "__name__", ""), *(a for a in args if isinstance(a, (str, int))))

    def _limit_error(self) -> RegexLimit:
        return RegexLimit(f"Regular expression '{self.pattern}' exceeded its match limit "
                          f"({MATCH_TIME_LIMIT:g} s)")

    def match(self, s: str, pos: int = 0) -> Any:
        return self._limited(self._rx.match, s, pos)

    def search(self, s: str, pos: int = 0) -> Any:
        return self._limited(self._rx.search, s, pos)

    def fullmatch(self, s: str) -> Any:
        return self._limited(self._rx.fullmatch, s)

    def finditer(self, s: str) -> Iterator[Any]:
        return iter(self._limited(lambda s, timeout: list(self._rx.finditer(s, timeout=timeout)),
                                  s))

    def findall(self, s: str) -> list[Any]:
        return list(self._limited(self._rx.findall, s))

    def split(self, s: str, maxsplit: int = 0) -> list[str]:
        return list(self._limited(self._rx.split, s, maxsplit))

    def sub(self, repl: Any, s: str, count: int = 0) -> str:
        return str(self._limited(self._rx.sub, repl, s, count))

    def subn(self, repl: Any, s: str, count: int = 0) -> tuple[str, int]:
        out = self._limited(self._rx.subn, repl, s, count)
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


@lru_cache(maxsize=4096)
def compile(pattern: str, dotall: bool = False,  # noqa: A001 - mirrors re.compile
            multiline: bool = False) -> Pattern:
    """Compile a PCRE pattern (cached). ``(?s)`` inside the pattern also turns on DOTALL."""
    import regex

    flags = regex.V0
    if dotall:
        flags |= regex.DOTALL
    if multiline:
        flags |= regex.MULTILINE
    try:
        return Pattern(pattern, regex.compile(pattern, flags))
    except (regex.error, OverflowError, RecursionError, ValueError) as e:
        raise RegexError(f"Regular expression error: '{pattern}': {e}") from None


def full_match(pattern: str, s: str) -> bool:
    """CFEngine's "full" match (regcmp, classmatch, edit_line selections): the
    leftmost match must start at 0 and end at the end, so ``a|abc`` does not match
    ``abc`` (PCRE takes the first alternative), unlike ``re.fullmatch``. As in
    cf-agent (PCRE_DOTALL | PCRE_MULTILINE), ``.`` matches a newline and ``^``/``$``
    match at line ends, so ``.*error:.*`` matches a command's multi-line output."""
    m = compile(pattern, dotall=True, multiline=True).match(s)
    return m is not None and m.end() == len(s)
