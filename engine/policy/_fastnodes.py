"""Constructors for the most numerous AST nodes, faster than the nodes' own ``__init__``.

The nodes are immutable: their ``__setattr__`` refuses, so their ``__init__`` sets
every field through ``object.__setattr__``. Each builder here is a subclass that adds
no slots and allows assignment: its ``__init__`` fills the fields with plain attribute
stores, then makes the object an instance of the node class itself
(``self.__class__ = Scalar``; the layout is the same). What the call returns is an
ordinary, immutable node, equal in every way to one the node's constructor builds.

The ``*_at`` builders take the offset of the node's token and the file's
:class:`~engine.policy.lexer.LineIndex` in place of a :class:`Pos`; the line and column
are worked out only when ``pos`` is read (see :mod:`engine.policy.ast`).

A loop that builds thousands of nodes may also fill a builder in place, as its
``__init__`` would, without the call: ``o = object.__new__(scalar_at)``, one store per
field (every slot of the node), then ``o.__class__ = Scalar``. The parse cache's
rebuild does (:mod:`engine.policy.astcodec`).
"""

from __future__ import annotations

from engine.policy.ast import Body, Bundle, Constraint, FnCall, Pos, Promise, RList, Rval, Scalar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.policy.ast import LineIndex

# Both, so that attribute stores take the interpreter's fast path for plain slots.
_plain_setattr = object.__setattr__
_plain_delattr = object.__delattr__


class _PosB(Pos):
    __slots__ = ()
    __setattr__ = _plain_setattr  # type: ignore[assignment]  # mypy compares it unbound
    __delattr__ = _plain_delattr

    def __init__(self, file: str, line: int, col: int) -> None:
        self.file = file
        self.line = line
        self.col = col
        self.__class__ = Pos  # type: ignore[assignment]


class _ScalarAt(Scalar):
    __slots__ = ()
    __setattr__ = _plain_setattr  # type: ignore[assignment]  # mypy compares it unbound
    __delattr__ = _plain_delattr

    def __init__(self, value: str, off: int, src: LineIndex, quoted: bool) -> None:
        self.value = value
        self._pos = off
        self._src = src
        self.quoted = quoted
        self.__class__ = Scalar  # type: ignore[assignment]


class _ConstraintAt(Constraint):
    __slots__ = ()
    __setattr__ = _plain_setattr  # type: ignore[assignment]  # mypy compares it unbound
    __delattr__ = _plain_delattr

    def __init__(self, lval: str, rval: Rval, off: int, src: LineIndex, guard: str) -> None:
        self.lval = lval
        self.rval = rval
        self._pos = off
        self._src = src
        self.guard = guard
        self.__class__ = Constraint  # type: ignore[assignment]


class _PromiseAt(Promise):
    __slots__ = ()
    __setattr__ = _plain_setattr  # type: ignore[assignment]  # mypy compares it unbound
    __delattr__ = _plain_delattr

    def __init__(
        self,
        promise_type: str,
        promiser: str,
        off: int,
        src: LineIndex,
        constraints: tuple[Constraint, ...],
        guard: str,
        promisee: Rval | None,
    ) -> None:
        self.promise_type = promise_type
        self.promiser = promiser
        self._pos = off
        self._src = src
        self.constraints = constraints
        self.guard = guard
        self.promisee = promisee
        self.quoted = True
        self.__class__ = Promise  # type: ignore[assignment]


class _RListAt(RList):
    __slots__ = ()
    __setattr__ = _plain_setattr  # type: ignore[assignment]  # mypy compares it unbound
    __delattr__ = _plain_delattr

    def __init__(self, items: tuple[Rval, ...], off: int, src: LineIndex) -> None:
        self.items = items
        self._pos = off
        self._src = src
        self.__class__ = RList  # type: ignore[assignment]


class _FnCallAt(FnCall):
    __slots__ = ()
    __setattr__ = _plain_setattr  # type: ignore[assignment]  # mypy compares it unbound
    __delattr__ = _plain_delattr

    def __init__(self, name: str, args: tuple[Rval, ...], off: int, src: LineIndex) -> None:
        self.name = name
        self.args = args
        self._pos = off
        self._src = src
        self.__class__ = FnCall  # type: ignore[assignment]


class _BundleB(Bundle):
    __slots__ = ()
    __setattr__ = _plain_setattr  # type: ignore[assignment]  # mypy compares it unbound
    __delattr__ = _plain_delattr

    def __init__(
        self,
        bundle_type: str,
        name: str,
        args: tuple[str, ...],
        promises: tuple[Promise, ...],
        pos: Pos,
        namespace: str,
        sections: tuple[tuple[str, Pos], ...],
    ) -> None:
        self.bundle_type = bundle_type
        self.name = name
        self.args = args
        self.promises = promises
        self._pos = pos
        self._src = None
        self.namespace = namespace
        self.sections = sections
        self.__class__ = Bundle  # type: ignore[assignment]


class _BodyB(Body):
    __slots__ = ()
    __setattr__ = _plain_setattr  # type: ignore[assignment]  # mypy compares it unbound
    __delattr__ = _plain_delattr

    def __init__(
        self,
        body_type: str,
        name: str,
        args: tuple[str, ...],
        constraints: tuple[Constraint, ...],
        pos: Pos,
        namespace: str,
    ) -> None:
        self.body_type = body_type
        self.name = name
        self.args = args
        self.constraints = constraints
        self._pos = pos
        self._src = None
        self.namespace = namespace
        self.__class__ = Body  # type: ignore[assignment]


# (file, line, col) -> Pos
make_pos = _PosB
# (value, pos, quoted) -> Scalar and (lval, rval, pos, guard) -> Constraint: the parser
# no longer builds these with a Pos, so the constructors themselves serve.
make_scalar = Scalar
make_constraint = Constraint
# (value, offset, line index, quoted) -> Scalar
scalar_at = _ScalarAt
# (lval, rval, offset, line index, guard) -> Constraint
constraint_at = _ConstraintAt
# (promise type, promiser, offset, line index, constraints, guard, promisee) -> Promise
promise_at = _PromiseAt
# (items, offset, line index) -> RList
rlist_at = _RListAt
# (name, args, offset, line index) -> FnCall
fncall_at = _FnCallAt
# (bundle type, name, args, promises, pos, namespace, sections) -> Bundle
make_bundle = _BundleB
# (body type, name, args, constraints, pos, namespace) -> Body
make_body = _BodyB
