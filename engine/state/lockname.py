"""Promise lock names, byte for byte as cf-agent writes them.

A lock id (the key after ``last.`` / ``lock.``) is::

    <bundle>.<promise_type>.<lval1>.….<lval5>.-<host>.<promiser>_<sum>_MD5=<digest>

* the first five constraint lvals of the *expanded* promise, each followed by
  ``.``, where ``args``/``arglist`` take a place but are not written; a body
  reference expands to ``<lval>_name``, ``<lval>`` and then the body's own
  attribute names (:func:`expand_lvals`);
* ``<promiser>`` (for commands, the command line: promiser, a space, ``args``)
  canonified (every byte that is not an ASCII letter or digit
  becomes ``_``), with date words blanked in long promisers so that a promiser
  holding ``$(sys.date)`` does not make a new lock every second, and cut to 100
  characters;
* ``<sum>`` a rolling base-61 hash (mod 8192) over the operator
  (``<type>.<lvals>.-<host>``) and the whole canonified promiser;
* ``<digest>`` vigil's own MD5 of the promise (:func:`promise_digest`); it
  differs from cf-agent's, so a vigil key and a cf-agent key for the same
  promise share everything up to ``_MD5=``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from operator import mul

from engine._records import Frozen, set_field
from engine.state.digest import md5
from engine.text import canonify

MAX_LVALS = 5
MAX_PART = 100  # bundle and promiser are cut to this many characters in the key
MAX_KEY = 511  # LMDB's key size limit, the trailing NUL included
SUM_MODULUS = 8192

SKIPPED_LVALS = frozenset({"args", "arglist"})
_BODY_SKIP = frozenset({"inherit_from"})

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE_MIN_LEN = len("Fri Oct 1 15:15:23 EST 2010")  # shorter operands hold no full date

# quick tests for blank_dates: most operands hold no day or month name at all
_ANY_DAY = re.compile("|".join(_DAYS))
_ANY_MONTH = re.compile("|".join(_MONTHS))


def blank_dates(operand: str) -> str:
    """In operands of at least 27 characters, the first weekday abbreviation
    (looked for in the order Mon..Sun) becomes ``DAY`` and then the first month
    abbreviation (Jan..Dec) becomes ``MON``. Digits stay: after canonification
    the time no longer parses as one, as cf-agent's own keys show."""
    if len(operand) < _DATE_MIN_LEN:
        return operand
    if _ANY_DAY.search(operand) is not None:
        for day in _DAYS:
            i = operand.find(day)
            if i >= 0:
                operand = operand[:i] + "DAY" + operand[i + 3 :]
                break
    if _ANY_MONTH.search(operand) is not None:
        for month in _MONTHS:
            i = operand.find(month)
            if i >= 0:
                operand = operand[:i] + "MON" + operand[i + 3 :]
                break
    return operand


# 61**k mod 8192, grown on demand: the rolling sum of n bytes is
# sum(byte[i] * 61**(n-1-i)) mod 8192, which map/sum compute without a Python loop
_POWERS = [1]


def _powers(n: int) -> list[int]:
    while len(_POWERS) <= n:
        _POWERS.append(_POWERS[-1] * 61 % SUM_MODULUS)
    return _POWERS


def _sum_on(s: int, data: bytes) -> int:
    """The rolling sum after ``data``, started from ``s``."""
    powers = _powers(len(data))
    return (s * powers[len(data)] + sum(map(mul, reversed(data), powers))) % SUM_MODULUS


def lock_sum(text: str) -> int:
    """``s = (61 * s + byte) % 8192`` over the UTF-8 bytes of ``text``."""
    return _sum_on(0, text.encode("utf-8", "surrogateescape"))


def expand_lvals(
    lvals: Sequence[str], body_attrs: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """Flatten a promise's lvals the way cf-agent names its lock.

    ``lvals`` are the promise's constraint lvals in policy order; ``body_attrs``
    maps each lval that references a body to that body's attribute names in the
    order cf-agent applies them (inherited ones first, ``inherit_from`` itself
    left out). ``args``/``arglist`` stay: they count towards the five lvals of
    the name although they are not written into it::

        expand_lvals(["create", "action"], {"action": ["ifelapsed", "expireafter"]})
        -> ["create", "action_name", "action", "ifelapsed", "expireafter"]
    """
    bodies = body_attrs or {}
    out: list[str] = []
    for lval in lvals:
        attrs = bodies.get(lval)
        if attrs is None:
            out.append(lval)
            continue
        out.append(f"{lval}_name")
        out.append(lval)
        out.extend(a for a in attrs if a not in _BODY_SKIP)
    return out


def lock_name(
    bundle: str,
    promise_type: str,
    lvals: Sequence[str],
    host: str,
    promiser: str,
    digest: str,
) -> str:
    """The lock id (without ``last.``/``lock.``) of one promise; ``lvals`` already
    expanded (see :func:`expand_lvals`)."""
    key = (promise_type, tuple(lvals[:MAX_LVALS]), host)
    op = _OPERATORS.get(key)
    if op is None:
        kept = [lv for lv in key[1] if lv not in SKIPPED_LVALS]
        operator = promise_type + "." + "".join(f"{lv}." for lv in kept) + "-" + host
        op = _OPERATORS[key] = (operator, lock_sum(operator))
    operator, start = op
    operand = blank_dates(canonify(promiser))
    total = _sum_on(start, operand.encode("utf-8", "surrogateescape"))
    name = f"{bundle[:MAX_PART]}.{operator}.{operand[:MAX_PART]}_{total}_MD5={digest}"
    return fit_key(name)


# (promise type, first lvals, host) -> (operator, its rolling sum); a policy has few
_OPERATORS: dict[tuple[str, tuple[str, ...], str], tuple[str, int]] = {}


def fit_key(name: str) -> str:
    """Keep ``last.<name>\\0`` within LMDB's key limit: an over-long name keeps
    its head and gets a hash of the whole instead of its tail."""
    room = MAX_KEY - len("last.") - 1
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= room:
        return name
    tail = "_" + md5(raw).hexdigest()
    head = raw[: room - len(tail)].decode("utf-8", "ignore")
    return head + tail


def promise_digest(
    promiser: str,
    bundle: str,
    namespace: str,
    constraints: Sequence[tuple[str, str]],
) -> str:
    """vigil's MD5 identity of a promise: promiser, bundle, namespace and each
    constraint ``lval`` with its rval rendered as text, NUL-separated."""
    text = "".join([promiser, "\0", namespace, "\0", bundle, "\0",
                    *(f"{lval}={rval}\0" for lval, rval in constraints)])
    return md5(text.encode("utf-8", "surrogateescape")).hexdigest()


def split_lock_key(key: str) -> tuple[str, str]:
    """``"last.<id>"`` -> ``("last", "<id>")``; other keys -> ``("", key)``."""
    for kind in ("last", "lock"):
        if key.startswith(kind + "."):
            return kind, key[len(kind) + 1 :]
    return "", key


class LockKeyParts(Frozen):
    """A lock id taken apart; ``promiser`` as in the key (canonified, cut to 100)."""

    __match_args__ = ("bundle", "promise_type", "lvals", "host", "promiser", "digest")
    __slots__ = __match_args__
    bundle: str
    promise_type: str
    lvals: tuple[str, ...]
    host: str
    promiser: str
    digest: str

    def __init__(self, bundle: str, promise_type: str, lvals: tuple[str, ...], host: str,
                 promiser: str, digest: str) -> None:
        set_field(self, "bundle", bundle)
        set_field(self, "promise_type", promise_type)
        set_field(self, "lvals", lvals)
        set_field(self, "host", host)
        set_field(self, "promiser", promiser)
        set_field(self, "digest", digest)


_LOCK_ID = re.compile(
    r"([^.]*)\.([^.]*)\.((?:[^.\-][^.]*\.)*)-([^.]*)\.(.*)_\d+_MD5=([0-9A-Fa-f]*)\Z"
)


def parse_lock_id(lock_id: str) -> LockKeyParts:
    """Split ``<bundle>.<type>.<lvals…>.-<host>.<promiser>_<sum>_MD5=<hex>``.

    The first two dot-separated parts are the bundle and the promise type
    (bundle names hold underscores, never dots). Ids that do not follow the
    pattern still give their first two parts."""
    m = _LOCK_ID.match(lock_id)
    if m:
        return LockKeyParts(m.group(1), m.group(2), tuple(m.group(3).split(".")[:-1]),
                            m.group(4), m.group(5), m.group(6))
    parts = lock_id.split(".")
    rest = parts[2:]
    host = ""
    lvals: list[str] = []
    promiser = rest[-1] if rest else ""
    for i, part in enumerate(rest):
        if part.startswith("-"):
            host = part[1:]
            promiser = ".".join(rest[i + 1 :])
            break
        lvals.append(part)
    else:
        lvals = lvals[:-1]  # no host part: the last part is the promiser
    return LockKeyParts(parts[0], parts[1] if len(parts) > 1 else "", tuple(lvals), host,
                        promiser, "")
