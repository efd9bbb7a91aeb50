"""The order in which cf-agent 3.21 walks the entries of a classic array.

cf-agent keeps every variable of a run (``sys``, ``const``, ``def``, every bundle's)
in one hash table, and the functions that read a classic array (``getindices``,
``getvalues``, ``maparray``, a collecting function's conversion to a container) see
its entries in the table's order: bucket by bucket, the last inserted first within a
bucket. A variable's bucket is a one-at-a-time hash of its namespace, bundle, name and
indices, masked by the table's size; the table starts at 128 buckets and doubles
whenever it holds more than three quarters of its size. vigil holds about as many
variables as cf-agent does, so the size it works out from its own count is the size
cf-agent's table has, and the order agrees (policies and the suite's expectations
depend on it: ``getindices`` of an array is rarely sorted before use).
"""

from __future__ import annotations

from functools import lru_cache

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sized

_MASK = 0xFFFFFFFF
_INITIAL_BUCKETS = 128
#: scopes cf-agent keeps in other tables than the run's variables
_OTHER_TABLES = frozenset({"this", "match", "edit", "body"})


def _mix(h: int, text: str) -> int:
    for byte in text.encode("utf-8", "surrogateescape"):
        h = (h + byte) & _MASK
        h = (h + (h << 10)) & _MASK
        h ^= h >> 6
    return h


def var_hash(scope: str, name: str, indices: Iterable[str] = ()) -> int:
    """The hash cf-agent gives the variable ``name[i1][i2]...`` of ``scope``
    (``ns:bundle``, or a special scope such as ``sys``, in the default namespace)."""
    return _cached_hash(scope, name, tuple(indices))


@lru_cache(maxsize=65536)
def _cached_hash(scope: str, name: str, indices: tuple[str, ...]) -> int:
    # getindices() and friends order the same entries again on every pass: a hash is
    # worked out byte by byte in Python, so each one is worked out once
    h = _name_hash(scope, name)
    for index in indices:
        h = _mix(_mix(h, "]"), index)
    h = (h + (h << 3)) & _MASK
    h ^= h >> 11
    return (h + (h << 15)) & _MASK


@lru_cache(maxsize=8192)
def _name_hash(scope: str, name: str) -> int:
    ns, sep, bundle = scope.partition(":")
    if not sep:
        ns, bundle = "default", scope
    return _mix(_mix(_mix(0, ns), bundle), name)


def buckets(count: int) -> int:
    """The size of cf-agent's table when it holds ``count`` variables."""
    size = _INITIAL_BUCKETS
    while count > size * 3 // 4:
        size <<= 1
    return size


def variable_count(scopes: Mapping[str, Sized]) -> int:
    """How many variables cf-agent's run table would hold, from vigil's scopes."""
    return sum(len(t) for s, t in scopes.items() if s not in _OTHER_TABLES)


def table_order(scope: str, name: str, paths: list[str], count: int) -> list[str]:
    """``paths`` (index paths of ``name``'s entries as written between the outer
    brackets, ``x][y``, in definition order) in the order cf-agent walks them."""
    if len(paths) < 2:
        return paths
    mask = buckets(count) - 1
    lval, _, given = name.partition("[")  # "a[x]": the entries a[x][...]
    head = given[:-1].split("][") if given else []
    # within a bucket the entry inserted last comes first
    keyed = sorted((var_hash(scope, lval, [*head, *p.split("][")]) & mask, -i, p)
                   for i, p in enumerate(paths))
    return [p for _, _, p in keyed]


def name_order(names: list[str], count: int) -> list[str]:
    """Qualified variable names (``ns:bundle.name[i]...``, in definition order) in
    the order cf-agent walks its table (``variablesmatching``)."""
    if len(names) < 2:
        return names
    mask = buckets(count) - 1
    keyed = []
    for i, qualified in enumerate(names):
        scope, _, rest = qualified.partition(".")
        lval, _, given = rest.partition("[")
        indices = given[:-1].split("][") if given else []
        keyed.append((var_hash(scope, lval, indices) & mask, -i, qualified))
    keyed.sort()
    return [q for _, _, q in keyed]


def table_count(names: list[str]) -> int:
    """:func:`variable_count` from every qualified name of the run."""
    return sum(1 for q in names if not q.startswith(("default:this.", "default:match.")))
