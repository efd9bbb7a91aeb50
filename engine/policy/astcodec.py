"""A parsed file as plain nested tuples (``marshal`` data), and the file rebuilt from them.

The parse cache (:mod:`engine.policy.astcache`) stores this form, so a warm run builds
each node straight from its tuple with the fast builders of
:mod:`engine.policy._fastnodes` instead of tokenizing and parsing the text.
Every tuple carries exactly what its node holds; positions stay what the parser left
them: lazy nodes keep their token offset (resolved, when read, through a
:class:`~engine.policy.lexer.LineIndex` of the same preprocessed text), bundles, bodies
and section headers keep their line and column. A rebuilt file is equal to a fresh parse
of the same text, positions included.

Shapes (``off`` is a token offset, ``ln, col`` a resolved position)::

    file        (bundles, bodies)
    bundle      (type, name, args, ln, col, namespace, sections, promises)
    section     (type, ln, col)
    body        (type, name, args, ln, col, namespace, constraints)
    promise     (type, promiser, off, guard, promisee rval or None, constraints)
    constraint  (lval, off, guard, value, value off, quoted)    its rval a string
              | (lval, off, guard, rval)                       any other rval
    rval        (SCALAR, value, off, quoted) | (LIST, items, off) | (CALL, name, args, off)

Equal strings are stored once (``marshal`` writes the others as references), so the
data stays small and quick to load. :func:`rebuild` trusts nothing: data of another
shape raises one of :data:`MALFORMED`.
"""

from __future__ import annotations

from engine.policy._fastnodes import (
    constraint_at,
    fncall_at,
    make_body,
    make_bundle,
    make_pos,
    promise_at,
    rlist_at,
    scalar_at,
)
from engine.policy.ast import (
    Body,
    Bundle,
    Constraint,
    FnCall,
    PolicyFile,
    Pos,
    Promise,
    RList,
    Scalar,
)
from engine.policy.lexer import LineIndex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.policy.ast import Rval

SCALAR, LIST, CALL = 0, 1, 2

#: what :func:`rebuild` raises on data of the wrong shape
MALFORMED = (TypeError, ValueError, IndexError, KeyError, AttributeError, RecursionError)


class Unencodable(ValueError):
    """A node this form cannot carry (one not built by the parser)."""


# -- encoding (after a parse) ---------------------------------------------------


def encode(pf: PolicyFile) -> tuple[object, ...]:
    """``pf``, fresh from the parser, as nested tuples; raises :class:`Unencodable`."""
    return _Encoder().file(pf)


class _Encoder:
    __slots__ = ("strings",)

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}

    def s(self, text: str) -> str:
        """One object per distinct string, so that marshal refers back to it."""
        return self.strings.setdefault(text, text)

    def file(self, pf: PolicyFile) -> tuple[object, ...]:
        return (tuple(map(self.bundle, pf.bundles)), tuple(map(self.body, pf.bodies)))

    def bundle(self, b: Bundle) -> tuple[object, ...]:
        s = self.s
        ln, col = _line_col(b._pos)
        sections = tuple((s(t), *_line_col(p)) for t, p in b.sections)
        promises = []
        for p in b.promises:
            if not p.quoted:
                raise Unencodable("unquoted promiser")
            promisee = None if p.promisee is None else self.rval(p.promisee)
            promises.append((s(p.promise_type), s(p.promiser), _offset(p), s(p.guard), promisee,
                             self.constraints(p.constraints)))
        return (s(b.bundle_type), s(b.name), tuple(map(s, b.args)), ln, col, s(b.namespace),
                sections, tuple(promises))

    def body(self, b: Body) -> tuple[object, ...]:
        s = self.s
        ln, col = _line_col(b._pos)
        return (s(b.body_type), s(b.name), tuple(map(s, b.args)), ln, col, s(b.namespace),
                self.constraints(b.constraints))

    def constraints(self, cs: tuple[Constraint, ...]) -> tuple[object, ...]:
        s = self.s
        out: list[tuple[object, ...]] = []
        for c in cs:
            r = c.rval
            if isinstance(r, Scalar):
                out.append((s(c.lval), _offset(c), s(c.guard), s(r.value), _offset(r), r.quoted))
            else:
                out.append((s(c.lval), _offset(c), s(c.guard), self.rval(r)))
        return tuple(out)

    def rval(self, r: Rval) -> tuple[object, ...]:
        if isinstance(r, Scalar):
            return (SCALAR, self.s(r.value), _offset(r), r.quoted)
        if isinstance(r, RList):
            return (LIST, tuple(map(self.rval, r.items)), _offset(r))
        if isinstance(r, FnCall):
            return (CALL, self.s(r.name), tuple(map(self.rval, r.args)), _offset(r))
        raise Unencodable(r.__class__.__name__)


def _offset(node: Scalar | RList | FnCall | Constraint | Promise) -> int:
    off = node._pos
    if off.__class__ is not int:  # a position already resolved: not the parser's node
        raise Unencodable(node.__class__.__name__)
    return off


def _line_col(pos: Pos | int) -> tuple[int, int]:
    if not isinstance(pos, Pos):
        raise Unencodable("block position")
    return pos.line, pos.col


# -- rebuilding (a cache hit) ---------------------------------------------------


def rebuild(data: tuple[object, ...], text: str, path: str) -> PolicyFile:
    """The file ``data`` encodes; ``text`` is the preprocessed text it was parsed from,
    ``path`` the name positions carry. Raises one of :data:`MALFORMED` on bad data."""
    idx = LineIndex(text, path)
    bundles_data, bodies_data = data
    # This runs for every node of every file on every warm run. Plain loops, not
    # comprehensions (each one a function call before Python 3.12), and a call only
    # where the data nests. Promises, constraints and strings, five sixths of all nodes,
    # are filled in place as their builders would (see _fastnodes), a third cheaper than
    # calling them.
    new = object.__new__

    def rval(r: tuple) -> Rval:
        kind = r[0]
        if kind == SCALAR:
            return scalar_at(r[1], r[2], idx, r[3])
        if kind == CALL:
            rs = r[2]
        elif kind == LIST:
            rs = r[1]
        else:
            raise ValueError(f"rval kind {kind!r}")
        items: list[Rval] = []
        for a in rs:
            if a[0] == SCALAR:
                s = new(scalar_at)
                s.value = a[1]
                s._pos = a[2]
                s._src = idx
                s.quoted = a[3]
                s.__class__ = Scalar  # type: ignore[assignment]  # the same layout
                items.append(s)
            else:
                items.append(rval(a))
        if kind == CALL:
            return fncall_at(r[1], tuple(items), r[3], idx)
        return rlist_at(tuple(items), r[2], idx)

    def constraints(cs: tuple) -> tuple[Constraint, ...]:
        out: list[Constraint] = []
        for c in cs:
            k = new(constraint_at)
            if len(c) == 6:
                s = new(scalar_at)
                s.value = c[3]
                s._pos = c[4]
                s._src = idx
                s.quoted = c[5]
                s.__class__ = Scalar  # type: ignore[assignment]  # the same layout
                k.rval = s
            else:
                k.rval = rval(c[3])
            k.lval = c[0]
            k._pos = c[1]
            k._src = idx
            k.guard = c[2]
            k.__class__ = Constraint  # type: ignore[assignment]  # the same layout
            out.append(k)
        return tuple(out)

    bundles = []
    for b in bundles_data:  # type: ignore[attr-defined]
        promises = []
        for p in b[7]:
            q = new(promise_at)
            q.promise_type = p[0]
            q.promiser = p[1]
            q._pos = p[2]
            q._src = idx
            q.constraints = constraints(p[5])
            q.guard = p[3]
            q.promisee = None if p[4] is None else rval(p[4])
            q.quoted = True
            q.__class__ = Promise  # type: ignore[assignment]  # the same layout
            promises.append(q)
        sections = []
        for t, ln, col in b[6]:
            sections.append((t, make_pos(path, ln, col)))
        bundles.append(make_bundle(b[0], b[1], b[2], tuple(promises), make_pos(path, b[3], b[4]),
                                   b[5], tuple(sections)))
    bodies = []
    for b in bodies_data:  # type: ignore[attr-defined]
        bodies.append(make_body(b[0], b[1], b[2], constraints(b[6]), make_pos(path, b[3], b[4]),
                                b[5]))
    return PolicyFile(path, tuple(bundles), tuple(bodies))
