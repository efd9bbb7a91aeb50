"""Variable expansion: ``$(x)``, ``${x}``, ``$(bundle.x)``, nested ``$(a_$(b))``.

Strings are parsed once into templates (cached) of literal text and references.
A reference that cannot be resolved stays in the output as written, which is
what cf-agent prints for unresolved variables; the caller learns about it from
the ``resolved`` flag.

Implicit iteration: :func:`iterables` names the references in a promise that
hold lists; the evaluator binds each to one element at a time (cross product,
the first-mentioned list varying slowest, as cf-agent iterates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.eval.values import Data, data_to_str

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    Lookup = Callable[[str], Any]


class _Ref:
    """A reference in a template: the parts of its name, its brackets. A template
    is a tuple of parts, each a str (literal text) or a _Ref."""

    __slots__ = ("inner", "open", "close", "name")

    def __init__(self, inner: tuple, open_: str, close: str) -> None:
        self.inner = inner
        self.open = open_
        self.close = close
        # the name when it is literal text (no reference inside), else None
        self.name: str | None = (
            "" if not inner else inner[0] if len(inner) == 1 and isinstance(inner[0], str)
            else None)


_CACHE: dict[str, tuple] = {}
_PAIRS = {"(": ")", "{": "}"}


def _next(s: str, i: int, stop: str | None) -> int:
    """Where the next ``$(``/``${``, ``stop`` or (inside a reference) bracket of the
    reference's kind not preceded by ``$`` is, from ``i``; -1 for none."""
    j = s.find("$", i)
    while j >= 0 and s[j + 1 : j + 2] not in _OPENERS:
        j = s.find("$", j + 1)
    if stop is not None:
        k = s.find(stop, i)
        if k >= 0 and (j < 0 or k < j):
            j = k
        # a name may hold brackets of its reference's kind, balanced: $(a[f(1)])
        bare = _BARE[stop]
        o = s.find(bare, i, j if j >= 0 else len(s))
        while o > 0 and s[o - 1] == "$":
            o = s.find(bare, o + 1, j if j >= 0 else len(s))
        if o >= 0:
            return o
    return j


_OPENERS = ("(", "{")
_BARE = {")": "(", "}": "{"}


def _parse(s: str, i: int = 0, stop: str | None = None) -> tuple[tuple, int]:
    """Parts of ``s`` from ``i`` up to ``stop`` (not consumed) or the end; a ``$(``
    without its closing bracket is literal text."""
    parts: list[Any] = []
    buf: list[str] = []
    n = len(s)
    depth = 0
    while True:
        j = _next(s, i, stop)
        if j < 0:
            buf.append(s[i:])
            i = n
            break
        buf.append(s[i:j])
        c = s[j]
        if c != "$":
            if c == stop:
                if not depth:  # the closing bracket
                    i = j
                    break
                depth -= 1
            else:  # a bracket the name holds: its closing one is the name's too
                depth += 1
            buf.append(c)
            i = j + 1
            continue
        close = _PAIRS[s[j + 1]]
        k = _next(s, j + 2, close)
        if k >= 0 and s[k] == close:  # no reference inside: no recursion
            inner: tuple = (s[j + 2 : k],) if k > j + 2 else ()
        else:
            inner, k = _parse(s, j + 2, close)
        if k < n and s[k] == close:
            text = "".join(buf)
            if text:
                parts.append(text)
            buf = []
            parts.append(_Ref(inner, "$" + s[j + 1], close))
            i = k + 1
        else:
            buf.append("$")  # no closing bracket: literal text
            i = j + 1
    text = "".join(buf)
    if text:
        parts.append(text)
    return tuple(parts), i


def template(s: str) -> tuple:
    t = _CACHE.get(s)
    if t is None:
        t = _parse(s)[0]
        if len(_CACHE) < 200_000:
            _CACHE[s] = t
    return t


def has_refs(s: str) -> bool:
    return "$(" in s or "${" in s


def _render(parts: tuple, lookup: Lookup, state: list[bool]) -> str:
    out: list[str] = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
            continue
        name = p.name
        if name is None:
            name = _render(p.inner, lookup, state)
        value = lookup(name) if name else None
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(data_to_str(value))
        elif isinstance(value, Data) and not isinstance(value.value, (dict, list)):
            out.append(data_to_str(value.value))
        elif value is not None and not isinstance(value, (list, dict, Data)):
            out.append(data_to_str(value))
        else:
            state[0] = False
            out.append(f"{p.open}{name}{p.close}")
    return "".join(out)


def expand(s: str, lookup: Lookup) -> tuple[str, bool]:
    """Expand ``s``; returns the text and whether every reference resolved."""
    if "$" not in s:
        return s, True
    state = [True]
    return _render(_CACHE.get(s) or template(s), lookup, state), state[0]


def expand_str(s: str, lookup: Lookup) -> str:
    return expand(s, lookup)[0]


def _refs(parts: tuple, out: list[tuple]) -> None:
    for p in parts:
        if isinstance(p, _Ref):
            _refs(p.inner, out)
            out.append(p.inner)


#: string -> its references as (inner parts, the name when literal else None, the
#: literal names directly inside), innermost first; pure functions of the string
_REFS_CACHE: dict[str, tuple[tuple[tuple, str | None, frozenset[str]], ...]] = {}


def _refs_of(s: str) -> tuple[tuple[tuple, str | None, frozenset[str]], ...]:
    """The references of ``s`` in :func:`_refs` order, with what the iteration
    helpers ask of each: its literal name (the name a render would give) if it has
    one, and the literal names of the references nested in it."""
    refs = _REFS_CACHE.get(s)
    if refs is None:
        inners: list[tuple] = []
        _refs(template(s), inners)
        refs = tuple(
            (inner,
             "" if not inner else inner[0] if len(inner) == 1 and isinstance(inner[0], str)
             else None,
             frozenset(p.name for p in inner if isinstance(p, _Ref) and p.name is not None))
            for inner in inners)
        if len(_REFS_CACHE) < 200_000:
            _REFS_CACHE[s] = refs
    return refs


def iterables(strings: Iterable[str], lookup: Lookup) -> list[str]:
    """Reference names in ``strings`` whose value is a list, in first-mention order.

    Only references whose names are literal (or resolve without iteration) are
    considered; nested ones are found after their inner lists are bound.
    """
    found: list[str] = []
    seen: set[str] = set()
    for s in strings:
        if "$" not in s:
            continue
        for inner, literal, _ in _refs_of(s):
            if literal is not None:
                name = literal
            else:
                state = [True]
                name = _render(inner, lookup, state)
                if not state[0]:
                    continue
            if name in seen:
                continue
            seen.add(name)
            value = lookup(name)
            # this.x names a list of the bundle only as a scalar would: cf-agent does
            # not iterate over it (maparray's "$(this.k)" is bound per element)
            if (isinstance(value, (list, dict)) or (
                    isinstance(value, Data) and isinstance(value.value, (list, dict)))) \
                    and not name.startswith("this."):
                found.append(name)
    return found


def empty_wheel(strings: Iterable[str], lookup: Lookup, bound: Iterable[str]) -> bool:
    """True when a reference whose name holds an iterated variable (``$(a[$(k)])``
    with ``k`` in ``bound``) names nothing for this binding: no such variable, or a
    JSON null. cf-agent skips that iteration rather than keep the text as written."""
    bound = set(bound)
    for s in strings:
        if "$" not in s:
            continue
        for inner, _, nested in _refs_of(s):
            if nested.isdisjoint(bound):
                continue
            state = [True]
            name = _render(inner, lookup, state)
            if not state[0]:
                continue
            value = lookup(name)
            if value is None or (isinstance(value, Data) and value.value is None):
                return True
    return False


def list_value(value: Any) -> list[str] | None:
    """A list variable's elements as strings (data arrays of primitives too)."""
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return value
        return _primitives(value)  # an array inside a data container
    if isinstance(value, Data) and isinstance(value.value, list):
        return _primitives(value.value)
    return None


def iter_values(value: Any) -> list[str] | None:
    """What ``$(x)`` iterates over: a list's elements, or a data container's primitive
    values (an object's too, unlike :func:`list_value`, which splices ``@(x)``)."""
    if isinstance(value, Data):
        value = value.value
    if isinstance(value, dict):
        return _primitives(value)
    return list_value(value)


def _primitives(container: list[Any] | dict[str, Any]) -> list[str]:
    """What iterating over a data container visits: its primitive values (an
    object's values, an array's elements); nulls and nested containers are skipped,
    as cf-agent skips them."""
    items = container.values() if isinstance(container, dict) else container
    return [v if isinstance(v, str) else data_to_str(v) for v in items
            if v is not None and not isinstance(v, (dict, list))]


def whole_list_ref(s: str) -> str | None:
    """``"@(name)"`` -> ``"name"``; anything else -> None."""
    if len(s) > 3 and s[0] == "@" and s[1] in "({" and s[-1] == _PAIRS[s[1]]:
        inner = s[2:-1]
        if _PAIRS[s[1]] not in inner:
            return inner
        # a name holding references or brackets (@(a[$(k)])): one reference, whole
        t = template("$" + s[1:])
        if len(t) == 1 and isinstance(t[0], _Ref):
            return inner
    return None


_STATIC_SCOPES = ("sys.", "const.", "this.")


def static_refs(s: str, lookup: Lookup) -> bool:
    """True when every reference in ``s`` is to a scalar of ``sys``, ``const`` or ``this``."""
    if "$" not in s and "@" not in s:
        return True
    for part in template(s):
        if isinstance(part, str):
            continue
        name = part.name  # None when the name holds a reference itself: not static
        if name is None or not name.startswith(_STATIC_SCOPES):
            return False
        if not isinstance(lookup(name), str) and not name.startswith("this."):
            return False
    return "@(" not in s and "@{" not in s
