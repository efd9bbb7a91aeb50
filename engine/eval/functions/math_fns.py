"""eval() and numeric comparisons.

cf-agent's infix grammar has two levels: sums (``+ -``) over products, where a
"product" chains ``^ * / % == != >= > <= <`` left to right at one precedence
(so ``2*3^2`` is 36 and ``4 > 3 + 2`` is 3). Numbers carry their own minus sign
(``2--1`` is 3) and no unary operator exists. The longest parsable prefix is
evaluated and the rest ignored (``5 5`` is 5); nothing parsable is an error.
``%`` works on the integer parts, like C's ``%`` on longs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from engine.eval.functions._util import cf_real, fmt_real, need_int
from engine.eval.functions.registry import FnEnv, FunctionError, function

_NUMBER = re.compile(r"(-?(?:\d+\.?\d*|\.\d+))[ \t\r\n]*([kKmMgGtTpP]?)[ \t\r\n]*")
_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15}
_SPACE = re.compile(r"[ \t\r\n]*")
_MARGIN = 1e-20

# Ordered as cf-agent tries them: a constant matches as a prefix ("pi_2" reads as pi).
_CONSTANTS = (
    ("e", math.e),
    ("log2e", 1.4426950408889634074),
    ("log10e", 0.43429448190325182765),
    ("ln2", 0.69314718055994530942),
    ("ln10", 2.30258509299404568402),
    ("pi", math.pi),
    ("sqrt2", math.sqrt(2)),
    ("sqrt1_2", math.sqrt(0.5)),
)


def _step(x: float) -> float:
    return 0.0 if x < 0 else 1.0


_FUNCS: dict[str, Callable[[float], float]] = {
    "ceil": math.ceil,
    "floor": math.floor,
    "log10": math.log10,
    "log2": math.log2,
    "log": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "abs": abs,
    "step": _step,
}
_FUNC_RE = re.compile(r"(" + "|".join(sorted(_FUNCS, key=len, reverse=True)) + r")\(")
_NEG_NAN = math.copysign(math.nan, -1.0)


def _safe(f: Callable[[], float]) -> float:
    """C's result for a domain error (NaN with the sign bit, printed ``-nan``)."""
    try:
        return float(f())
    except (ValueError, ZeroDivisionError):
        return _NEG_NAN
    except OverflowError:
        return math.inf


def _mod(a: float, b: float) -> float:
    ia, ib = int(a) if math.isfinite(a) else 0, int(b) if math.isfinite(b) else 0
    if ib == 0:
        return _NEG_NAN
    return float(int(math.fmod(ia, ib)))


def _div(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or math.isnan(a):
            return _NEG_NAN
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _pow(a: float, b: float) -> float:
    return _safe(lambda: math.pow(a, b))


_OPS: list[tuple[str, Callable[[float, float], float]]] = [
    ("==", lambda a, b: float(abs(a - b) < _MARGIN)),
    ("!=", lambda a, b: float(abs(a - b) >= _MARGIN)),
    (">=", lambda a, b: float(a > b or abs(a - b) < _MARGIN)),
    ("<=", lambda a, b: float(a < b or abs(a - b) < _MARGIN)),
    (">", lambda a, b: float(a > b)),
    ("<", lambda a, b: float(a < b)),
    ("^", _pow),
    ("**", _pow),
    ("*", lambda a, b: a * b),
    ("/", _div),
    ("%", _mod),
]


class _Parser:
    """A PEG-style parser over ``text``: each rule returns (value, end) or None.

    Whitespace is eaten after numbers, operators and ``)`` but not after named
    constants, so ``pi * 2`` stops after ``pi`` (cf-agent says 3.141593).
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def ws(self, i: int) -> int:
        m = _SPACE.match(self.text, i)
        return m.end() if m else i

    def sum(self, i: int) -> tuple[float, int] | None:
        first = self.product(i)
        if first is None:
            return None
        val, i = first
        while True:
            op = self.text[i : i + 1]
            if op not in ("+", "-"):
                return val, i
            nxt = self.product(self.ws(i + 1))
            if nxt is None:
                return val, i
            val = val + nxt[0] if op == "+" else val - nxt[0]
            i = nxt[1]

    def product(self, i: int) -> tuple[float, int] | None:
        first = self.value(i)
        if first is None:
            return None
        val, i = first
        while True:
            for sym, fn in _OPS:
                if self.text.startswith(sym, i):
                    nxt = self.value(self.ws(i + len(sym)))
                    if nxt is not None:
                        val = fn(val, nxt[0])
                        i = nxt[1]
                        break
                    return val, i
            else:
                return val, i

    def value(self, i: int) -> tuple[float, int] | None:
        t = self.text
        m = _NUMBER.match(t, i)
        if m is not None:
            return float(m.group(1)) * _UNITS[m.group(2).lower()], m.end()
        m = _FUNC_RE.match(t, i)
        if m is not None:
            inner = self.sum(self.ws(m.end()))
            if inner is not None and t.startswith(")", inner[1]):
                f = _FUNCS[m.group(1)]
                x = inner[0]
                return _safe(lambda: f(x)), self.ws(inner[1] + 1)
        for name, v in _CONSTANTS:
            if t.startswith(name, i):
                return v, i + len(name)
        if t.startswith("(", i):
            inner = self.sum(self.ws(i + 1))
            if inner is not None and t.startswith(")", inner[1]):
                return inner[0], self.ws(inner[1] + 1)
        return None


def evaluate_infix(expr: str) -> float | None:
    """The value of ``expr`` in cf-agent's infix syntax, or None if it does not parse."""
    p = _Parser(expr)
    r = p.sum(p.ws(0))
    return None if r is None else r[0]


def format_double(x: float) -> str:
    """``%lf`` as glibc prints it, ``-nan`` included."""
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return fmt_real(x)


@function("eval", "string", 1, 3)
def eval_(env: FnEnv, expr: str, mode: str = "math", options: str = "infix") -> str:
    """eval(expression, mode, options): evaluate arithmetic; mode ``math`` gives a
    real (``%lf``), ``class`` gives ``any`` or ``!any`` (zero within a tiny margin)."""
    if mode not in ("math", "class"):
        raise FunctionError(f"eval: unknown mode '{mode}'")
    if options != "infix":
        raise FunctionError(f"eval: unknown options '{options}'")
    x = evaluate_infix(expr) if expr.strip() else 0.0  # an empty expression is 0
    if mode == "class":
        return "!any" if x is None or abs(x) < _MARGIN else "any"
    if x is None:  # cf-agent logs this and returns an empty string
        env.log.info(f"eval error: expression could not be parsed (input '{expr}')")
        return ""
    return format_double(x)


def _compare(a: str, b: str) -> int:
    x, y = cf_real(a), cf_real(b)
    if x is not None and y is not None:
        return (x > y) - (x < y)
    return (a > b) - (a < b)


@function("isgreaterthan", "class", 2, 2)
def isgreaterthan(env: FnEnv, a: str, b: str) -> bool:
    """isgreaterthan(value1, value2): numeric comparison when both are numbers, else by bytes."""
    return _compare(a, b) > 0


@function("islessthan", "class", 2, 2)
def islessthan(env: FnEnv, a: str, b: str) -> bool:
    """islessthan(value1, value2): numeric comparison when both are numbers, else by bytes."""
    return _compare(a, b) < 0


@function("randomint", "int", 2, 2)
def randomint(env: FnEnv, lower: str, upper: str) -> str:
    """randomint(lower, upper): a random integer with lower <= n < upper."""
    import random

    lo, hi = need_int("randomint", lower), need_int("randomint", upper)
    if lo > hi:
        lo, hi = hi, lo
    if lo == hi:
        return str(lo)
    return str(random.randrange(lo, hi))


@function("int", "int", 1, 1)
def int_(env: FnEnv, s: str) -> str:
    """int(string): the integer part of a number (units such as ``k`` applied)."""
    x = cf_real(s)
    if x is None or not math.isfinite(x):
        raise FunctionError(f"Function 'int': '{s}' is not a number")
    return str(int(x))


@function("irange", "irange", 2, 2)
def irange(env: FnEnv, a: str, b: str) -> str:
    """irange(arg1, arg2): an integer range ``"low,high"`` for int_range attributes."""
    x, y = need_int("irange", a), need_int("irange", b)
    return f"{min(x, y)},{max(x, y)}"


@function("rrange", "rrange", 2, 2)
def rrange(env: FnEnv, a: str, b: str) -> str:
    """rrange(arg1, arg2): a real range, which no attribute of CFEngine 3.21 takes ("not
    yet used", its reference says). Both numbers must be reals; what cf-agent 3.21 makes
    of them, seen where a string is allowed (``format("%s", rrange(1.5, 2))``), is the
    first one twice, ``"1.500000,1.500000"``, and so does vigil."""
    x, y = cf_real(a), cf_real(b)
    if x is None or y is None:
        raise FunctionError(f"Function 'rrange': '{a}', '{b}' are not numbers")
    return f"{fmt_real(x)},{fmt_real(x)}"
