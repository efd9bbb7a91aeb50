"""The policy AST: frozen dataclasses, every node carrying its source position.

The parser produces these; nothing downstream mutates them. Strings are kept
unexpanded (``$(x)``, ``@(list)`` stay as written) so that evaluation can expand
them in context. Quoted strings are stored with their escapes already decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Pos:
    """A position in a policy file; line and column count from 1."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Scalar:
    """A string rval. ``quoted`` is False for barewords (body names, ``@(x)``)."""

    value: str
    pos: Pos
    quoted: bool = True


@dataclass(frozen=True, slots=True)
class RList:
    """A ``{ ... }`` list rval; items may themselves be lists or calls."""

    items: tuple[Rval, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class FnCall:
    """A function call rval such as ``concat("a", $(b))`` or ``if_elapsed(60)``."""

    name: str
    args: tuple[Rval, ...]
    pos: Pos


Rval = Scalar | RList | FnCall


@dataclass(frozen=True, slots=True)
class Constraint:
    """``lval => rval``. In bodies, ``guard`` is the class expression in force."""

    lval: str
    rval: Rval
    pos: Pos
    guard: str = "any"


@dataclass(frozen=True, slots=True)
class Promise:
    """One promise: a promiser under a promise type and class guard."""

    promise_type: str
    promiser: str
    promiser_pos: Pos
    constraints: tuple[Constraint, ...]
    guard: str = "any"
    promisee: Rval | None = None
    quoted: bool = True

    @property
    def pos(self) -> Pos:
        return self.promiser_pos

    def get(self, lval: str) -> Rval | None:
        """The rval of the first constraint named ``lval``, if any."""
        for c in self.constraints:
            if c.lval == lval:
                return c.rval
        return None


@dataclass(frozen=True, slots=True)
class Bundle:
    """``bundle TYPE NAME(args) { ... }``; promises are kept in source order."""

    bundle_type: str
    name: str
    args: tuple[str, ...]
    promises: tuple[Promise, ...]
    pos: Pos
    namespace: str = "default"
    # Each ``type:`` section header in source order, with the position of the header
    # (validation reports misplaced promise types there, as cf-promises does).
    sections: tuple[tuple[str, Pos], ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}:{self.name}"


@dataclass(frozen=True, slots=True)
class Body:
    """``body TYPE NAME(args) { ... }``; control bodies are named ``control``."""

    body_type: str
    name: str
    args: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    pos: Pos
    namespace: str = "default"

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}:{self.name}"


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One parsed ``.cf`` file, its bundles and bodies in source order."""

    path: str
    bundles: tuple[Bundle, ...]
    bodies: tuple[Body, ...]


@dataclass(slots=True)
class Policy:
    """Every file the entry point pulled in through ``inputs``, with look-up tables.

    Keys are ``(namespace, name)`` for bundles and ``(namespace, body_type, name)``
    for bodies. Later definitions do not replace earlier ones; duplicates are a
    validation error.
    """

    files: list[PolicyFile] = field(default_factory=list)
    bundles: dict[tuple[str, str], Bundle] = field(default_factory=dict)
    bodies: dict[tuple[str, str, str], Body] = field(default_factory=dict)

    def add(self, pf: PolicyFile) -> None:
        self.files.append(pf)
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
