"""The policy AST: immutable nodes, every node carrying its source position.

The parser produces these; nothing downstream mutates them. Strings are kept
unexpanded (``$(x)``, ``@(list)`` stay as written) so that evaluation can expand
them in context. Quoted strings are stored with their escapes already decoded.

The nodes behave as frozen, slotted dataclasses would: positional or keyword
construction with the same defaults, ``==`` and ``hash`` over the fields, a ``repr``
naming them, ``__match_args__``, pickling and copying, and :class:`FrozenInstanceError`
(an ``AttributeError``) on assignment. They are written out by hand because importing
``dataclasses`` and running its decorator costs more than parsing a small policy.

Positions are resolved lazily. The parser gives a node the offset of its token and the
file's line index (:class:`engine.policy.lexer.LineIndex`); reading ``pos`` turns that
into a :class:`Pos` the first time and keeps it. A node built by hand takes a ``Pos``.
"""

from __future__ import annotations

from engine._records import Frozen as _Node
from engine._records import FrozenInstanceError

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Protocol

    class LineIndex(Protocol):
        """A file's line index (:class:`engine.policy.lexer.LineIndex`), named here by
        what a node asks of it so that the AST imports nothing from the lexer."""

        def pos(self, offset: int) -> Pos: ...

_set = object.__setattr__

__all__ = ["FrozenInstanceError"]


class Pos(_Node):
    """A position in a policy file; line and column count from 1."""

    __slots__ = ("file", "line", "col")
    __match_args__ = ("file", "line", "col")
    file: str
    line: int
    col: int

    def __init__(self, file: str, line: int, col: int) -> None:
        _set(self, "file", file)
        _set(self, "line", line)
        _set(self, "col", col)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class _Located(_Node):
    """A node whose ``pos`` may still be an offset into its file (see the module doc)."""

    __slots__ = ("_pos", "_src")
    _pos: Pos | int
    _src: LineIndex | None

    @property
    def pos(self) -> Pos:
        p = self._pos
        if p.__class__ is int:
            p = self._src.pos(p)  # type: ignore[union-attr]  # an int offset comes with its _src
            _set_pos(self, p)
        return p  # type: ignore[return-value]

    @property
    def pos_file(self) -> str:
        """``pos.file`` without working out the line (``this.promise_filename`` and
        ``promise_dirname`` ask for it on every expansion)."""
        p = self._pos
        if p.__class__ is int:
            return self._src.path  # type: ignore[union-attr]  # an int offset comes with its _src
        return p.file  # type: ignore[union-attr]


_set_pos = _Located.__dict__["_pos"].__set__  # the slot's own store, past Frozen's __setattr__


class Scalar(_Located):
    """A string rval. ``quoted`` is False for barewords (body names, ``@(x)``)."""

    __slots__ = ("value", "quoted")
    __match_args__ = ("value", "pos", "quoted")
    value: str
    quoted: bool

    def __init__(self, value: str, pos: Pos, quoted: bool = True) -> None:
        _set(self, "value", value)
        _set(self, "_pos", pos)
        _set(self, "_src", None)
        _set(self, "quoted", quoted)


class RList(_Located):
    """A ``{ ... }`` list rval; items may themselves be lists or calls."""

    __slots__ = ("items",)
    __match_args__ = ("items", "pos")
    items: tuple[Rval, ...]

    def __init__(self, items: tuple[Rval, ...], pos: Pos) -> None:
        _set(self, "items", items)
        _set(self, "_pos", pos)
        _set(self, "_src", None)


class FnCall(_Located):
    """A function call rval such as ``concat("a", $(b))`` or ``if_elapsed(60)``."""

    __slots__ = ("name", "args")
    __match_args__ = ("name", "args", "pos")
    name: str
    args: tuple[Rval, ...]

    def __init__(self, name: str, args: tuple[Rval, ...], pos: Pos) -> None:
        _set(self, "name", name)
        _set(self, "args", args)
        _set(self, "_pos", pos)
        _set(self, "_src", None)


Rval = Scalar | RList | FnCall


class Constraint(_Located):
    """``lval => rval``. In bodies, ``guard`` is the class expression in force."""

    __slots__ = ("lval", "rval", "guard")
    __match_args__ = ("lval", "rval", "pos", "guard")
    lval: str
    rval: Rval
    guard: str

    def __init__(self, lval: str, rval: Rval, pos: Pos, guard: str = "any") -> None:
        _set(self, "lval", lval)
        _set(self, "rval", rval)
        _set(self, "_pos", pos)
        _set(self, "_src", None)
        _set(self, "guard", guard)


class Promise(_Located):
    """One promise: a promiser under a promise type and class guard."""

    __slots__ = ("promise_type", "promiser", "constraints", "guard", "promisee", "quoted")
    __match_args__ = (
        "promise_type",
        "promiser",
        "promiser_pos",
        "constraints",
        "guard",
        "promisee",
        "quoted",
    )
    promise_type: str
    promiser: str
    constraints: tuple[Constraint, ...]
    guard: str
    promisee: Rval | None
    quoted: bool

    def __init__(
        self,
        promise_type: str,
        promiser: str,
        promiser_pos: Pos,
        constraints: tuple[Constraint, ...],
        guard: str = "any",
        promisee: Rval | None = None,
        quoted: bool = True,
    ) -> None:
        _set(self, "promise_type", promise_type)
        _set(self, "promiser", promiser)
        _set(self, "_pos", promiser_pos)
        _set(self, "_src", None)
        _set(self, "constraints", constraints)
        _set(self, "guard", guard)
        _set(self, "promisee", promisee)
        _set(self, "quoted", quoted)

    # The promise's position is its promiser's.
    promiser_pos = _Located.pos

    def get(self, lval: str) -> Rval | None:
        """The rval of the first constraint named ``lval``, if any."""
        for c in self.constraints:
            if c.lval == lval:
                return c.rval
        return None


class Bundle(_Located):
    """``bundle TYPE NAME(args) { ... }``; promises are kept in source order."""

    __slots__ = ("bundle_type", "name", "args", "promises", "namespace", "sections")
    __match_args__ = ("bundle_type", "name", "args", "promises", "pos", "namespace", "sections")
    bundle_type: str
    name: str
    args: tuple[str, ...]
    promises: tuple[Promise, ...]
    namespace: str
    # Each ``type:`` section header in source order, with the position of the header
    # (validation reports misplaced promise types there, as cf-promises does).
    sections: tuple[tuple[str, Pos], ...]

    def __init__(
        self,
        bundle_type: str,
        name: str,
        args: tuple[str, ...],
        promises: tuple[Promise, ...],
        pos: Pos,
        namespace: str = "default",
        sections: tuple[tuple[str, Pos], ...] = (),
    ) -> None:
        _set(self, "bundle_type", bundle_type)
        _set(self, "name", name)
        _set(self, "args", args)
        _set(self, "promises", promises)
        _set(self, "_pos", pos)
        _set(self, "_src", None)
        _set(self, "namespace", namespace)
        _set(self, "sections", sections)

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}:{self.name}"


class Body(_Located):
    """``body TYPE NAME(args) { ... }``; control bodies are named ``control``."""

    __slots__ = ("body_type", "name", "args", "constraints", "namespace")
    __match_args__ = ("body_type", "name", "args", "constraints", "pos", "namespace")
    body_type: str
    name: str
    args: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    namespace: str

    def __init__(
        self,
        body_type: str,
        name: str,
        args: tuple[str, ...],
        constraints: tuple[Constraint, ...],
        pos: Pos,
        namespace: str = "default",
    ) -> None:
        _set(self, "body_type", body_type)
        _set(self, "name", name)
        _set(self, "args", args)
        _set(self, "constraints", constraints)
        _set(self, "_pos", pos)
        _set(self, "_src", None)
        _set(self, "namespace", namespace)

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}:{self.name}"


class PolicyFile(_Node):
    """One parsed ``.cf`` file, its bundles and bodies in source order."""

    __slots__ = ("path", "bundles", "bodies")
    __match_args__ = ("path", "bundles", "bodies")
    path: str
    bundles: tuple[Bundle, ...]
    bodies: tuple[Body, ...]

    def __init__(self, path: str, bundles: tuple[Bundle, ...], bodies: tuple[Body, ...]) -> None:
        _set(self, "path", path)
        _set(self, "bundles", bundles)
        _set(self, "bodies", bodies)


class Policy:
    """Every file the entry point pulled in through ``inputs``, with look-up tables.

    Keys are ``(namespace, name)`` for bundles and ``(namespace, body_type, name)``
    for bodies. Later definitions do not replace earlier ones; duplicates are a
    validation error. Mutable, compared field by field, not hashable.

    ``digests`` maps a file's path to the content digest the loader took when it read
    the file (:mod:`engine.policy.source`); it is bookkeeping, not a field: equality and
    ``repr`` leave it out.
    """

    __slots__ = ("files", "bundles", "bodies", "digests")
    __match_args__ = ("files", "bundles", "bodies")
    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        files: list[PolicyFile] | None = None,
        bundles: dict[tuple[str, str], Bundle] | None = None,
        bodies: dict[tuple[str, str, str], Body] | None = None,
    ) -> None:
        self.files: list[PolicyFile] = [] if files is None else files
        self.bundles: dict[tuple[str, str], Bundle] = {} if bundles is None else bundles
        self.bodies: dict[tuple[str, str, str], Body] = {} if bodies is None else bodies
        self.digests: dict[str, str] = {}

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, Policy)
            return (self.files, self.bundles, self.bodies) == (
                other.files,
                other.bundles,
                other.bodies,
            )
        return NotImplemented

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__qualname__}(files={self.files!r}, bundles={self.bundles!r}, "
            f"bodies={self.bodies!r})"
        )

    def add(self, pf: PolicyFile, digest: str | None = None) -> None:
        """Add a file (and the content digest of the text it was parsed from)."""
        self.files.append(pf)
        if digest is not None:
            self.digests[pf.path] = digest
        for b in pf.bundles:
            self.bundles.setdefault((b.namespace, b.name), b)
        for body in pf.bodies:
            self.bodies.setdefault((body.namespace, body.body_type, body.name), body)

    def control_bodies(self, body_type: str) -> list[Body]:
        """Every ``body <body_type> control`` across files, in file order."""
        return [
            b
            for f in self.files
            for b in f.bodies
            if b.body_type == body_type and b.name == "control"
        ]

    def common_flag(self, lval: str) -> bool:
        """Whether ``body common control`` sets the boolean ``lval`` to a true literal."""
        for body in self.control_bodies("common"):
            for c in body.constraints:
                if c.lval == lval and isinstance(c.rval, Scalar):
                    return c.rval.value.lower() in ("true", "yes", "on")
        return False

    def find_bundle(self, name: str, namespace: str = "default") -> Bundle | None:
        """Look a bundle up by ``name`` or ``ns:name``; bare names try ``namespace`` then default."""
        if ":" in name:
            ns, _, bare = name.partition(":")
            return self.bundles.get((ns, bare))
        return self.bundles.get((namespace, name)) or self.bundles.get(("default", name))

    def find_body(self, body_type: str, name: str, namespace: str = "default") -> Body | None:
        """Look a body up like :meth:`find_bundle`."""
        if ":" in name:
            ns, _, bare = name.partition(":")
            return self.bodies.get((ns, body_type, bare))
        return self.bodies.get((namespace, body_type, name)) or self.bodies.get(
            ("default", body_type, name)
        )
