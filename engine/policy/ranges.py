"""Range checks of literal attribute values, as cf-promises makes them.

The syntax table gives each ``int`` attribute a range (``"0,99999999"``) and many
``string`` attributes a regular expression the whole value must match (``"^.$"``
for a single character); ``"?(/.*)`` means an absolute path. A literal outside
its range makes the policy invalid (``select_field => "-1"``,
``value_separator => ",+"``). Values holding variable references are checked
only after expansion, by the actuators.
"""

from __future__ import annotations

from engine import cfregex

_SUFFIX = {"k": 1000, "K": 1024, "m": 1000**2, "M": 1024**2, "g": 1000**3, "G": 1024**3}
_NOT_REGEX = {"", "string", "int", "real", "option", ".*", "irange", "rrange"}
_INFINITY = 999999999


def _int_value(text: str) -> int | None:
    s = text.strip()
    if s in ("inf", "+inf"):
        return _INFINITY
    if s == "-inf":
        return -_INFINITY
    mult = 1
    if s and s[-1] in _SUFFIX:
        mult = _SUFFIX[s[-1]]
        s = s[:-1]
    try:
        return int(s) * mult
    except ValueError:
        return None


def _real_value(text: str) -> float | None:
    """A real literal's value (``1e2345678`` is infinite: out of every range)."""
    s = text.strip()
    mult = 1
    if s and s[-1] in _SUFFIX:
        mult = _SUFFIX[s[-1]]
        s = s[:-1]
    try:
        return float(s) * mult
    except ValueError:
        return None


def range_error(lval: str, type_: str, range_: str, value: str) -> str | None:
    """Why the literal ``value`` of ``lval`` is outside its range, or None."""
    if type_ == "int" and "," in range_:
        lo_s, _, hi_s = range_.partition(",")
        v, lo, hi = _int_value(value), _int_value(lo_s), _int_value(hi_s)
        if v is not None and lo is not None and hi is not None and not lo <= v <= hi:
            return f"'{lval}' is out of range {lo_s}..{hi_s}: '{value}'"
        return None
    if type_ == "real" and "," in range_:
        lo_s, _, hi_s = range_.partition(",")
        r, rlo, rhi = _real_value(value), _real_value(lo_s), _real_value(hi_s)
        if r is not None and rlo is not None and rhi is not None and not rlo <= r <= rhi:
            return f"'{lval}' is out of range {lo_s}..{hi_s}: '{value}'"
        return None
    if type_ != "string" or range_ in _NOT_REGEX:
        return None
    if range_ == '"?(/.*)':
        if value.startswith(("/", '"/')):
            return None
        return f"'{lval}' needs an absolute path, found '{value}'"
    try:
        ok = cfregex.full_match(range_, value)
    except cfregex.RegexError:
        return None
    return None if ok else f"'{lval}' is out of range '{range_}': '{value}'"
