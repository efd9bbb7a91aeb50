"""format(): printf-style formatting with cf-agent's subset of conversions.

Supported: ``%d %x %o`` (with an optional ``l``), ``%f``, ``%s`` and ``%S`` (a list
or data container, printed as ``{ "a", "b" }`` or compact JSON). Flags, width and
precision work as in C. Other conversions print ``(unhandled format)``, as
cf-agent does; a lone trailing ``%`` is dropped.
"""

from __future__ import annotations

import re

from engine.eval.functions._util import json_compact
from engine.eval.functions.data_fns import _data_element
from engine.eval.functions.registry import FnEnv, FunctionError, function, strip_ref
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

_SPEC = re.compile(r"%([-+ #0]*)(\d*)(?:\.(\d*))?(l*)([A-Za-z]?)")
_LEAD_INT = re.compile(r"\s*[-+]?\d+")
_LEAD_REAL = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def atoi(s: str) -> int:
    """C ``atoi``: leading digits, 0 when there are none."""
    m = _LEAD_INT.match(s)
    return int(m.group(0)) if m else 0


def atof(s: str) -> float:
    m = _LEAD_REAL.match(s)
    return float(m.group(0)) if m else 0.0


def list_repr(items: list[str]) -> str:
    """``{ "a", "b" }``; double quotes escaped, backslashes kept as they are."""
    if not items:
        return "{  }"
    return "{ " + ", ".join('"' + x.replace('"', '\\"') + '"' for x in items) + " }"


def value_repr(v: Any) -> str | None:
    """``%S`` of a variable's value; None for a plain string."""
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list_repr(v)
    if isinstance(v, Data):
        return json_compact(v.value)
    if isinstance(v, (dict, list)):  # a container inside a data variable: "d[k]"
        return json_compact(v)
    return None


def _pad(text: str, flags: str, width: str) -> str:
    w = int(width) if width else 0
    return text.ljust(w) if "-" in flags else text.rjust(w)


# cf-agent formats each conversion into a buffer of this size (the rest is cut off),
# which also keeps a width or precision of 999999999 from building a huge string
CONVERSION_BUFFER = 4096


def _convert(env: FnEnv, m: re.Match[str], arg: str) -> str:
    text = _convert_unbounded(env, m, arg)
    if m.group(2) or m.group(3) is not None:  # only a width or precision goes through the buffer
        return text[: CONVERSION_BUFFER - 1]
    return text


def _clamp(digits: str | None) -> str | None:
    if digits and len(digits) > 4 or digits and int(digits) > CONVERSION_BUFFER:
        return str(CONVERSION_BUFFER)
    return digits


def _convert_unbounded(env: FnEnv, m: re.Match[str], arg: str) -> str:
    flags, width, prec, _long, conv = m.groups()
    width = _clamp(width) or ""
    prec = _clamp(prec)
    spec = f"%{flags}{width}" + (f".{prec}" if prec is not None else "")
    if conv in ("d", "x", "o"):
        return (spec + conv) % atoi(arg)
    if conv == "f":
        return (spec + "f") % atof(arg)
    if conv == "s":
        return (spec + "s") % arg
    if conv == "S":
        ref = strip_ref(arg)
        inner = _data_element(env, ref) if "[" in ref else None
        if inner is not None:  # inside a data container: JSON, strings quoted
            return _pad(json_compact(inner[0]), flags, width)
        v = env.get_var(ref)
        text = value_repr(v)
        if text is None:
            kind = "string" if isinstance(v, str) else "undefined"
            raise FunctionError(f"Function 'format' expected a list variable, got variable of type '{kind}'",
                                quiet=True)
        return _pad(text, flags, width)
    return "(unhandled format)"


@function("format", "string", 1)
def format_(env: FnEnv, fmt: str, *args: str) -> str:
    """format(format, args...): ``fmt`` with each ``%`` conversion filled from ``args``."""
    out: list[str] = []
    i = 0
    n = 0
    while True:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        if fmt.startswith("%%", j):
            out.append("%")
            i = j + 2
            continue
        m = _SPEC.match(fmt, j)
        assert m is not None  # the pattern can match "%" alone
        if not m.group(5):
            i = m.end()
            continue
        if n >= len(args):
            raise FunctionError("format() didn't have enough parameters")
        out.append(_convert(env, m, args[n]))
        n += 1
        i = m.end()
    return "".join(out)
