"""Class functions: not/and/or, ifelse, classmatch, *matching, splayclass.

Tag filters use optional environment methods: ``class_tags(name) -> list[str]``
and ``var_tags(qualified_name) -> list[str]``; without them a tag filter matches
nothing. Bundle tags come from ``FnEnv.bundle_tags``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.eval.functions._util import full_match, full_matcher, pcre
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


def _truth(env: FnEnv, expr: Any) -> bool:
    """A class expression argument; a nested class function may arrive as a bool."""
    if isinstance(expr, bool):
        return expr
    return env.class_defined(str(expr))


@function("not", "class", 1, 1)
def not_(env: FnEnv, expr: Any) -> bool:
    """not(expression): true when the class expression is false."""
    return not _truth(env, expr)


@function("and", "class")
def and_(env: FnEnv, *exprs: Any) -> bool:
    """and(...): true when every class expression is true (and() is true)."""
    return all(_truth(env, e) for e in exprs)


@function("or", "class")
def or_(env: FnEnv, *exprs: Any) -> bool:
    """or(...): true when any class expression is true (or() is false)."""
    return any(_truth(env, e) for e in exprs)


def _late(env: FnEnv, arg: Any) -> str:
    """A delayed ifelse argument: a call is made now; text still holding a reference
    that does not resolve fails the call quietly (the promise waits for a later pass)."""
    lazy = getattr(env, "eval_lazy", None)
    if lazy is not None and not isinstance(arg, (str, bool)):
        arg = lazy(arg, {})
    if isinstance(arg, bool):
        return "any" if arg else "!any"
    text = str(arg)
    if "$(" in text or "${" in text:
        raise FunctionError(f"Function 'ifelse': '{text}' does not resolve", quiet=True)
    return text


# ifelse evaluates only what it picks: an undefined variable in a branch not taken is
# no error (cf-agent's delayed evaluation); positions past this are evaluated eagerly
_IFELSE_LAZY = range(64)


@function("ifelse", "string", 1, lazy_args=_IFELSE_LAZY)
def ifelse(env: FnEnv, *args: Any) -> str:
    """ifelse(class1, value1, class2, value2, ..., default): the value after the
    first true class expression, else the default. With three arguments only the
    class expression and the value picked are evaluated (an undefined variable in the
    other branch is no matter); with more, every argument must resolve."""
    if len(args) % 2 == 0:
        raise FunctionError("Function 'ifelse' requires an odd number of arguments")
    if len(args) != 3:  # cf-agent delays only the three-argument form
        args = tuple(_late(env, a) for a in args)
    for i in range(0, len(args) - 1, 2):
        if env.class_defined(_late(env, args[i])):
            return _late(env, args[i + 1])
    return _late(env, args[-1])


def _tagged(tags_of: Callable[[str], Iterable[str]] | None, name: str, tags: tuple[str, ...]) -> bool:
    """True when some tag of ``name`` fully matches some regex in ``tags``."""
    if not tags:
        return True
    if tags_of is None:
        return False
    have = tags_of(name)  # None: a name the context cannot look up again
    if have is not None and not isinstance(have, (list, tuple)):
        have = list(have)  # walked once per tag regex
    if not have:
        return False
    for t in tags:  # each tag regex compiled when first needed, as full_match would
        match = full_matcher(t)
        for h in have:
            if match(h):
                return True
    return False


def _matching_classes(env: FnEnv, regex: str, tags: tuple[str, ...]) -> list[str]:
    rx = pcre(regex)
    tags_of = getattr(env, "class_tags", None)
    out = []
    for c in env.classes():
        m = rx.match(c)
        if m is not None and m.end() == len(c) and _tagged(tags_of, c, tags):
            out.append(c)
    return out


@function("classmatch", "class", 1)
def classmatch(env: FnEnv, regex: str, *tags: str) -> bool:
    """classmatch(regex, tag1, ...): true when some defined class matches ``regex``."""
    return bool(_matching_classes(env, regex, tags))


@function("classesmatching", "slist", 0)
def classesmatching(env: FnEnv, regex: str = ".*", *tags: str) -> list[str]:
    """classesmatching(regex, tag1, ...): the defined classes matching ``regex``: the
    bundle's own classes first, newest first (as cf-agent lists them), then the others
    sorted."""
    found = _matching_classes(env, regex, tags)
    order_of = getattr(env, "bundle_class_order", None)
    order: dict[str, int] = order_of() if order_of is not None else {}
    local = sorted((c for c in found if c in order), key=lambda c: -order[c])
    return local + sorted(c for c in found if c not in order)


@function("countclassesmatching", "int", 1)
def countclassesmatching(env: FnEnv, regex: str, *tags: str) -> str:
    """countclassesmatching(regex, tag1, ...): how many defined classes match."""
    return str(len(_matching_classes(env, regex, tags)))


@function("bundlesmatching", "slist", 1)
def bundlesmatching(env: FnEnv, regex: str, *tags: str) -> list[str]:
    """bundlesmatching(regex, tag1, ...): qualified bundle names (``default:x``) matching,
    the last defined first, as cf-agent 3.21 lists them. It looks at the first tag
    regex only (later ones change nothing)."""
    return [
        b
        for b in reversed(list(env.bundle_names()))
        if full_match(regex, b) and _tagged(env.bundle_tags, b, tags[:1])
    ]


def _matching_vars(env: FnEnv, regex: str, tags: tuple[str, ...]) -> list[str]:
    tags_of = getattr(env, "var_tags", None)
    names = list(env.var_names())
    if not names:
        return []  # a bad regex is only an error once there is a name to match
    match = full_matcher(regex)
    from engine.eval.varorder import name_order, table_count

    found = [v for v in names if match(v) and _tagged(tags_of, v, tags)]
    return name_order(found, table_count(names))


@function("variablesmatching", "slist", 1)
def variablesmatching(env: FnEnv, regex: str, *tags: str) -> list[str]:
    """variablesmatching(regex, tag1, ...): qualified variable names matching ``regex``,
    in cf-agent's order (its variable table's, backwards)."""
    return _matching_vars(env, regex, tags)[::-1]


@function("variablesmatching_as_data", "data", 1)
def variablesmatching_as_data(env: FnEnv, regex: str, *tags: str) -> Data:
    """variablesmatching_as_data(regex, tag1, ...): a map of matching names to values."""
    out: dict[str, Any] = {}
    for name in sorted(_matching_vars(env, regex, tags)):
        v = env.get_var(name)
        out[name] = v.value if isinstance(v, Data) else v
    return Data(out)


def _oaat(s: str) -> int:
    """Jenkins' one-at-a-time hash, as cf-agent hashes strings for splaying."""
    h = 0
    for c in s.encode("utf-8", "surrogateescape"):
        h = (h + c) & 0xFFFFFFFF
        h = (h + (h << 10)) & 0xFFFFFFFF
        h ^= h >> 6
    h = (h + (h << 3)) & 0xFFFFFFFF
    h ^= h >> 11
    return (h + (h << 15)) & 0xFFFFFFFF


def splay_class_name(text: str, policy: str) -> str:
    """The time class ``splayclass(text, policy)`` tests (``Min05_10`` or
    ``Min05_10.Hr13``): a hash of ``text`` picks one 5-minute slot."""
    bucket = _oaat(text) & 8191
    if policy == "hourly":
        slot = bucket * 12 // 8192
        return f"Min{slot * 5:02d}_{(slot + 1) * 5 % 60:02d}"
    dayslot = bucket * 288 // 8192
    hour, slot = divmod(dayslot, 12)
    return f"Min{slot * 5:02d}_{(slot + 1) * 5 % 60:02d}.Hr{hour:02d}"


@function("splayclass", "class", 2, 2)
def splayclass(env: FnEnv, text: str, policy: str) -> bool:
    """splayclass(input, policy): true in one 5-minute slot per hour (``hourly``)
    or per day (``daily``) chosen by hashing ``input``."""
    if policy not in ("hourly", "daily"):
        raise FunctionError(f"Function 'splayclass': policy must be 'hourly' or 'daily', not '{policy}'")
    return env.class_defined(splay_class_name(text, policy))
