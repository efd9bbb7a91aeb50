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

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_LVALS = 5
MAX_PART = 100  # bundle and promiser are cut to this many characters in the key
MAX_KEY = 511  # LMDB's key size limit, the trailing NUL included
SUM_MODULUS = 8192

SKIPPED_LVALS = frozenset({"args", "arglist"})
_BODY_SKIP = frozenset({"inherit_from"})

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE_MIN_LEN = len("Fri Oct 1 15:15:23 EST 2010")  # shorter operands hold no full date

_CANON = bytes(
    c if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else 95 for c in range(256)
)


def canonify(text: str) -> str:
    """Every byte of the UTF-8 text that is not an ASCII letter or digit -> ``_``."""
    return text.encode("utf-8", "surrogateescape").translate(_CANON).decode("ascii")


def blank_dates(operand: str) -> str:
    """In operands of at least 27 characters, the first weekday abbreviation
    (looked for in the order Mon..Sun) becomes ``DAY`` and then the first month
    abbreviation (Jan..Dec) becomes ``MON``. Digits stay: after canonification
    the time no longer parses as one, as cf-agent's own keys show."""
    if len(operand) < _DATE_MIN_LEN:
        return operand
    for day in _DAYS:
        i = operand.find(day)
        if i >= 0:
            operand = operand[:i] + "DAY" + operand[i + 3 :]
            break
    for month in _MONTHS:
        i = operand.find(month)
        if i >= 0:
            operand = operand[:i] + "MON" + operand[i + 3 :]
            break
    return operand


def lock_sum(text: str) -> int:
    s = 0
    for c in text.encode("utf-8", "surrogateescape"):
        s = (61 * s + c) % SUM_MODULUS
    return s


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
    kept = [lv for lv in lvals[:MAX_LVALS] if lv not in SKIPPED_LVALS]
    operator = promise_type + "." + "".join(f"{lv}." for lv in kept) + "-" + host
    operand = blank_dates(canonify(promiser))
    total = lock_sum(operator + operand)
    name = f"{bundle[:MAX_PART]}.{operator}.{operand[:MAX_PART]}_{total}_MD5={digest}"
    return fit_key(name)


def fit_key(name: str) -> str:
    """Keep ``last.<name>\\0`` within LMDB's key limit: an over-long name keeps
    its head and gets a hash of the whole instead of its tail."""
    room = MAX_KEY - len("last.") - 1
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= room:
        return name
    tail = "_" + hashlib.md5(raw).hexdigest()
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
    h = hashlib.md5()
    for part in (promiser, namespace, bundle):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    for lval, rval in constraints:
        h.update(lval.encode("utf-8", "surrogateescape"))
        h.update(b"=")
        h.update(rval.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


def split_lock_key(key: str) -> tuple[str, str]:
    """``"last.<id>"`` -> ``("last", "<id>")``; other keys -> ``("", key)``."""
    for kind in ("last", "lock"):
        if key.startswith(kind + "."):
            return kind, key[len(kind) + 1 :]
    return "", key


@dataclass(frozen=True, slots=True)
class LockKeyParts:
    bundle: str
    promise_type: str
    lvals: tuple[str, ...]
    host: str
    promiser: str  # canonified, cut to 100 characters, as in the key
    digest: str


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
        lvals = tuple(m.group(3).split(".")[:-1])
        return LockKeyParts(m.group(1), m.group(2), lvals, m.group(4), m.group(5), m.group(6))
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
