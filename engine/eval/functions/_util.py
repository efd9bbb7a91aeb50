"""Shared helpers: CFEngine number parsing, PCRE to Python ``re``, JSON output."""

from __future__ import annotations

import json
import re
from functools import lru_cache

from engine import cfregex
from engine.eval.functions.registry import FunctionError

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

CF_INFINITY = 999999999

_SUFFIX = {"k": 1000, "K": 1024, "m": 1000**2, "M": 1024**2, "g": 1000**3, "G": 1024**3}
_INT_RE = re.compile(r"\s*([-+]?\d+)(.?)(.*)", re.DOTALL)
_REAL_RE = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf(?:inity)?|[-+]?nan)(.?)", re.I | re.DOTALL)
_LONG_MAX = (1 << 63) - 1


def cf_int(s: str) -> int | None:
    """CFEngine's integer syntax (``sscanf("%ld%c%s")``): a number, then at most one
    character (a unit ``k K m M g G``, ``%`` for a percentage, anything else is
    ignored) and trailing spaces; ``inf`` is 999999999. None when not an integer."""
    if s == "inf":
        return CF_INFINITY
    m = _INT_RE.match(s)
    if m is None or m.group(3).strip():
        return None
    n = max(min(int(m.group(1)), _LONG_MAX), -_LONG_MAX - 1)
    suf = m.group(2)
    if suf == "%":
        return -n if 0 <= n <= 100 else None
    return n * _SUFFIX.get(suf, 1)


def cf_real(s: str) -> float | None:
    """CFEngine's real syntax (``sscanf("%lf%c")``): a leading number, an optional
    unit (``k K m M g G``, ``%``); anything after it is ignored."""
    m = _REAL_RE.match(s)
    if m is None:
        return None
    x = float(m.group(1))
    suf = m.group(2)
    if suf == "%":
        return -x
    return x * _SUFFIX.get(suf, 1)


def need_int(fn: str, s: str) -> int:
    n = cf_int(s)
    if n is None:
        raise FunctionError(f"Function '{fn}': '{s}' is not an integer")
    return n


CF_NOINT = -678


def lenient_int(env: Any, s: str) -> int:
    """An integer argument the way functions that do not check it read it: a bad
    one logs an error and becomes CFEngine's "no integer" marker, -678."""
    n = cf_int(s)
    if n is None:
        env.log.error(f"Failed to parse integer number: {s}")
        return CF_NOINT
    return n


def need_real(fn: str, s: str) -> float:
    x = cf_real(s)
    if x is None:
        raise FunctionError(f"Function '{fn}': '{s}' is not a real number")
    return x


def fmt_real(x: float) -> str:
    """C's ``%lf``: ``3.500000``."""
    return f"{x:f}"


def fmt_bool_class(b: bool) -> str:
    return "any" if b else "!any"


# ------------------------------------------------------------------ regular expressions

_POSIX = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\n\r\f\v",
    "blank": r" \t",
    "punct": r"!-/:-@\[-`{-~",
    "xdigit": "0-9A-Fa-f",
    "word": r"\w",
    "cntrl": r"\x00-\x1f\x7f",
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
}
_POSIX_RE = re.compile(r"\[:(\^?)(\w+):\]")


def _translate(pattern: str) -> str:
    """PCRE constructs Python spells differently: POSIX classes, named groups, ``\\z``."""
    if "[:" in pattern:
        pattern = _POSIX_RE.sub(lambda m: _POSIX.get(m.group(2), m.group(0)), pattern)
    if "(?<" in pattern:
        pattern = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern)
    if "\\z" in pattern:
        pattern = re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", pattern)
    return pattern


def pcre(pattern: str) -> cfregex.Pattern:
    """Compile a PCRE pattern; a bad one is a :class:`FunctionError`. Matches made
    with the result raise :class:`engine.cfregex.RegexLimit` past their time limit,
    which the function registry turns into a failed call."""
    try:
        return cfregex.compile(_translate(pattern), "(?s)" in pattern)
    except cfregex.RegexError as e:
        raise FunctionError(str(e)) from None


def full_match(pattern: str, s: str) -> bool:
    """CFEngine's "full" match (regcmp, classmatch, filter with is_regex): the
    leftmost match must start at 0 and end at the end, so ``a|abc`` does not
    match ``abc`` (PCRE takes the first alternative), unlike ``re.fullmatch``. As in
    cf-agent (PCRE_DOTALL | PCRE_MULTILINE), ``.`` matches a newline and ``^``/``$``
    match at line ends: ``.*error:.*`` matches a command's multi-line output."""
    rx, plan = _full_matcher(pattern)
    # most policy patterns are a name or a name prefix ("default:def.control_.*"):
    # deciding those without the engine saves its per-call time-limit set-up
    if plan is not None:
        if not cfregex.plan_admits(plan, s):
            return False
        if plan[2]:
            return True
    assert rx is not None  # compiled whenever the plan does not decide alone
    m = rx.match(s)
    return m is not None and m.end() == len(s)


@lru_cache(maxsize=1024)
def full_matcher(pattern: str) -> Callable[[str], bool]:
    """:func:`full_match` of ``pattern`` as a one-argument function, for matching
    many subjects (every variable name): a literal compares with ``==``, a literal
    prefix and ``.*`` with ``startswith``. A bad pattern raises :class:`FunctionError`
    here, as the first :func:`full_match` call would."""
    rx, plan = _full_matcher(pattern)
    if plan is not None and plan[2] and all(c is not None for c in plan[0]):
        literal = "".join(c for c in plan[0] if c is not None)
        if plan[2] == "exact":
            return lambda s: s == literal
        return lambda s: s.startswith(literal)

    def match(s: str) -> bool:
        if plan is not None:
            if not cfregex.plan_admits(plan, s):
                return False
            if plan[2]:
                return True
        assert rx is not None
        m = rx.match(s)
        return m is not None and m.end() == len(s)

    return match


@lru_cache(maxsize=4096)
def _full_matcher(pattern: str) -> tuple[cfregex.Pattern | None, cfregex.Plan | None]:
    """The compiled pattern for :func:`full_match` and its plan; one cache look-up a
    call (functions such as variablesmatching call it once per variable). A pattern
    the plan decides alone (literal characters, ``.``, a trailing ``.*``: always valid)
    is not compiled: the ``regex`` module's compiler costs ~0.3 ms a pattern."""
    translated = _translate(pattern)
    plan = cfregex.full_match_plan(translated)
    if plan is not None and plan[2]:
        return None, plan
    try:
        rx = cfregex.compile(translated, dotall=True, multiline=True)
    except cfregex.RegexError as e:
        raise FunctionError(str(e)) from None
    return rx, plan


# ------------------------------------------------------------------ JSON output


def _prim(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4f}"
    return json.dumps(v, ensure_ascii=False).replace("\\/", "/")


def json_compact(v: Any) -> str:
    """One-line JSON as ``format("%S")`` prints it: no spaces, reals ``%.4f``."""
    if isinstance(v, dict):
        items = sorted(v.items())
        return "{" + ",".join(f"{_prim(str(k))}:{json_compact(x)}" for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ",".join(json_compact(x) for x in v) + "]"
    return _prim(v)


def json_pretty(v: Any, indent: int = 0) -> str:
    """Indented JSON as ``storejson`` prints it (two spaces, ``"k": v``, keys
    sorted, an empty object as ``{`` newline ``}``)."""
    pad = "  " * (indent + 1)
    end = "  " * indent
    if isinstance(v, dict):
        if not v:
            return "{\n" + end + "}"
        items = sorted(v.items())
        body = ",\n".join(f"{pad}{_prim(str(k))}: {json_pretty(x, indent + 1)}" for k, x in items)
        return "{\n" + body + "\n" + end + "}"
    if isinstance(v, list):
        if not v:
            return "[]"
        body = ",\n".join(pad + json_pretty(x, indent + 1) for x in v)
        return "[\n" + body + "\n" + end + "]"
    return _prim(v)


def wrap_int32(n: int) -> int:
    """CFEngine's JSON parser keeps integers in a C int."""
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


def _fix_ints(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return wrap_int32(v) if not -(1 << 31) <= v < (1 << 31) else v
    if isinstance(v, list):
        return [_fix_ints(x) for x in v]
    if isinstance(v, dict):
        return {k: _fix_ints(x) for k, x in v.items()}
    return v


def parse_json(text: str) -> Any:
    """Parse JSON as CFEngine does (integers kept in 32 bits); ValueError if invalid."""
    return _fix_ints(json.loads(text))
