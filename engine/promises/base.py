"""What every promise actuator receives and returns.

The evaluator (``engine.eval.agent``) expands a promise in context — variables,
list iteration, body references with their arguments, ``inherit_from`` and body
class guards — and hands the actuator a :class:`ResolvedPromise`. The actuator
acts (or, in dry-run / warn mode, reports what it would do) and returns a
:class:`PromiseResult`. Outcome classes from ``classes`` bodies, locks and the
run report are the evaluator's job, not the actuator's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from engine.policy.ast import Pos


class Outcome(StrEnum):
    KEPT = "kept"
    REPAIRED = "repaired"
    NOTKEPT = "notkept"  # repair_failed
    DENIED = "denied"  # repair_denied
    TIMEOUT = "timeout"  # repair_timeout
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    """Why a promise did not run; shown by ``-v``, kept in the run report."""

    GUARD_FALSE = "guard_false"
    IF_FALSE = "if_false"
    UNLESS_TRUE = "unless_true"
    UNRESOLVED = "unresolved"
    LOCKED = "locked"
    ALREADY_RUNNING = "already_running"
    DRY_RUN = "dry_run"
    DEPENDS_ON = "depends_on"


@dataclass(frozen=True, slots=True)
class BundleCall:
    """A bundle reference in an attribute (``edit_line => lines_present("x")``,
    ``usebundle => b(1)``), its arguments expanded."""

    name: str
    args: tuple[Any, ...] = ()


# A body reference after resolution: its attributes, expanded, with the body's
# own name kept under "__name__" and its type under "__type__".
BodyValue = dict[str, Any]

# Attribute values: str, list[str], a BodyValue, a BundleCall, or a data container.
AttrValue = Any


@dataclass(slots=True)
class ResolvedPromise:
    """One fully expanded promise, ready to act on."""

    promise_type: str
    promiser: str
    attrs: dict[str, AttrValue]
    bundle: str
    namespace: str
    pos: Pos
    handle: str | None = None
    # Raw (unexpanded) attribute lvals in policy order; used for lock names.
    lvals: tuple[str, ...] = ()

    def body(self, lval: str) -> BodyValue:
        """The resolved body under ``lval`` or an empty dict."""
        v = self.attrs.get(lval)
        return v if isinstance(v, dict) else {}

    def str_attr(self, lval: str, default: str = "") -> str:
        v = self.attrs.get(lval, default)
        return v if isinstance(v, str) else default

    def bool_attr(self, lval: str, default: bool = False) -> bool:
        v = self.attrs.get(lval)
        if v is None:
            return default
        return str(v).lower() in ("true", "yes", "on")

    def list_attr(self, lval: str) -> list[str]:
        v = self.attrs.get(lval)
        if v is None:
            return []
        return v if isinstance(v, list) else [v]


@dataclass(slots=True)
class PromiseResult:
    """What an actuator did. ``classes``/``cancel_classes`` are set globally
    (``source=promise``), as processes' ``restart_class`` and command modules do."""

    outcome: Outcome
    classes: list[str] = field(default_factory=list)
    cancel_classes: list[str] = field(default_factory=list)
    # Variables set by a command module: name -> str | list[str]; bundle is the
    # module's context (default: the canonified command name, as cf-agent does).
    variables: dict[str, Any] = field(default_factory=dict)
    variables_context: str | None = None
    message: str = ""
    returncode: int | None = None
    # Outcomes of sub-steps that also count for ``classes`` bodies: cf-agent sets
    # the classes of every partial result (a copy that repairs the content and
    # finds the attributes kept defines both the kept and the repaired classes).
    also: list[Outcome] = field(default_factory=list)


class Logger(Protocol):
    """Log sink with cf-agent's levels; lines are formatted by ``engine.log``."""

    def error(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def notice(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def verbose(self, msg: str) -> None: ...
    def report(self, text: str) -> None: ...  # an ``R: text`` line


class RunContext(Protocol):
    """What an actuator may ask of the running agent."""

    log: Logger
    dry_run: bool
    workdir: str
    host: str

    def warn_only(self, promise: ResolvedPromise) -> bool:
        """True when the run is dry or the promise's action body says warn."""
        ...

    def edit_promises(
        self, bundle_ref: BundleCall, filename: str, bundle_type: str = "edit_line"
    ) -> list[ResolvedPromise]:
        """Expand an ``edit_line`` bundle reference (name or call with args) for one
        file: its promises with guards evaluated, in source order, each resolved."""
        ...

    def class_defined(self, expr: str) -> bool:
        """Evaluate a class expression in the current context."""
        ...

    def datastate(self) -> dict[str, Any]:
        """Classes and variables as ``datastate()`` gives them (mustache default data)."""
        ...


Actuator = Callable[[ResolvedPromise, RunContext], PromiseResult]
