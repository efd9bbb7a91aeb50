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
from enum import StrEnum

from engine._records import Frozen, Record, set_field

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any, NoReturn, Protocol

    from engine.policy.ast import Bundle, Pos, Promise
    from engine.promises.shadow.tree import Shadow

    # A body reference after resolution: its attributes, expanded, with the body's
    # own name kept under "__name__" and its type under "__type__".
    BodyValue = dict[str, Any]
    # Attribute values: str, list[str], a BodyValue, a BundleCall, or a data container.
    AttrValue = Any
else:
    Protocol = object  # a plain base at run time; mypy takes the branch above and checks them


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


class BundleCall(Frozen):
    """A bundle reference in an attribute (``edit_line => lines_present("x")``,
    ``usebundle => b(1)``), its arguments expanded."""

    __slots__ = ("name", "args")
    __match_args__ = ("name", "args")
    name: str
    args: tuple[Any, ...]

    def __init__(self, name: str, args: tuple[Any, ...] = ()) -> None:
        set_field(self, "name", name)
        set_field(self, "args", args)



class ResolvedPromise(Record):
    """One fully expanded promise, ready to act on. ``lvals``: the raw
    (unexpanded) attribute lvals in policy order; used for lock names."""

    __slots__ = ("promise_type", "promiser", "attrs", "bundle", "namespace", "pos", "handle",
                 "lvals")
    __match_args__ = ("promise_type", "promiser", "attrs", "bundle", "namespace", "pos",
                      "handle", "lvals")

    def __init__(self, promise_type: str, promiser: str, attrs: dict[str, AttrValue],
                 bundle: str, namespace: str, pos: Pos, handle: str | None = None,
                 lvals: tuple[str, ...] = ()) -> None:
        self.promise_type = promise_type
        self.promiser = promiser
        self.attrs = attrs
        self.bundle = bundle
        self.namespace = namespace
        self.pos = pos
        self.handle = handle
        self.lvals = lvals

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


class PromiseResult(Record):
    """What an actuator did. ``classes``/``cancel_classes`` are set globally
    (``source=promise``), as processes' ``restart_class`` and command modules do.

    ``variables``: set by a command module, name -> str | list[str], in the bundle
    ``variables_context`` (default: the canonified command name, as cf-agent does).
    ``also``: outcomes of sub-steps that also count for ``classes`` bodies: cf-agent
    sets the classes of every partial result (a copy that repairs the content and
    finds the attributes kept defines both the kept and the repaired classes).
    ``module``: what a command module printed (``module_protocol.ModuleOutput``): its
    variables, classes, tags and persistent classes, defined by the agent.
    """

    __slots__ = ("outcome", "classes", "cancel_classes", "variables", "variables_context",
                 "message", "returncode", "also", "module")
    __match_args__ = ("outcome", "classes", "cancel_classes", "variables", "variables_context",
                      "message", "returncode", "also", "module")

    def __init__(self, outcome: Outcome, classes: list[str] | None = None,
                 cancel_classes: list[str] | None = None,
                 variables: dict[str, Any] | None = None, variables_context: str | None = None,
                 message: str = "", returncode: int | None = None,
                 also: list[Outcome] | None = None, module: Any = None) -> None:
        self.outcome = outcome
        self.classes: list[str] = [] if classes is None else classes
        self.cancel_classes: list[str] = [] if cancel_classes is None else cancel_classes
        self.variables: dict[str, Any] = {} if variables is None else variables
        self.variables_context = variables_context
        self.message = message
        self.returncode = returncode
        self.also: list[Outcome] = [] if also is None else also
        self.module: Any = module


class Logger(Protocol):
    """Log sink with cf-agent's levels; lines are formatted by ``engine.log``."""

    def critical(self, msg: str) -> None: ...  # ``CRITICAL: msg``, a bug in a helper
    def error(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def notice(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def verbose(self, msg: str) -> None: ...
    def debug(self, msg: str) -> None: ...
    def report(self, text: str) -> None: ...  # an ``R: text`` line


class RunContext(Protocol):
    """What an actuator may ask of the running agent."""

    @property
    def log(self) -> Logger: ...  # read-only, so the agent's LineLogger satisfies it
    dry_run: bool
    workdir: str
    host: str
    # what actuators keep for the rest of the run; values with close() are closed at its end
    run_state: dict[str, Any]
    # --simulate: the tree files promises change instead of the real one (else None)
    shadow: Shadow | None

    def promise_block(self, promise_type: str) -> dict[str, Any] | None:
        """The expanded attributes of ``promise agent <promise_type>`` (``path``,
        ``interpreter``), or None when the policy defines no such promise type."""
        ...

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

    def edit_outcome(self, promise: ResolvedPromise, outcome: Outcome) -> None:
        """One edit promise (``insert_lines``...) was kept, repaired or not kept:
        define its ``classes`` body classes and record its handle."""
        ...

    def datastate(self) -> dict[str, Any]:
        """Classes and variables as ``datastate()`` gives them (mustache default data)."""
        ...

    def apply_outcome(self, p: Promise | None, rp: ResolvedPromise,
                      result: PromiseResult) -> None:
        """Record an outcome an actuator learns later than its return (packages run
        their scheduled commands after the pass): classes bodies, handle, report."""
        ...

    def resolve_for(self, promise: ResolvedPromise, promiser: str) -> ResolvedPromise:
        """``promise`` (the one being acted on) with its attributes resolved again for
        ``this.promiser`` = ``promiser``, a file its depth search reached: cf-agent
        expands them anew for each file (classes naming the file, a transformer run on
        it); ``promise`` itself when they do not resolve."""
        ...

    # methods (and services, which call a bundle): the evaluator runs the bundle
    ignore_missing_bundles: bool

    def find_bundle(self, name: str, namespace: str = "default") -> Bundle | None:
        """The bundle ``name`` as ``usebundle`` finds it (namespace-qualified or in
        ``namespace``), or None."""
        ...

    def run_bundle(self, bundle: Bundle, args: tuple[Any, ...],
                   inherit: bool = False) -> Outcome:
        """Evaluate ``bundle`` with ``args`` as a method does (``inherit``: it starts
        with the caller's bundle classes); the aggregate of its promises' outcomes."""
        ...

    def bundle_depth(self) -> int:
        """How many bundles are being evaluated now, the caller's included."""
        ...

    def fatal(self, message: str) -> NoReturn:
        """End the run as cf-agent's fatal errors do (``Fatal CFEngine error:
        message``, exit code 1); no actuator's ``except Exception`` can stop it."""
        ...


Actuator = Callable[[ResolvedPromise, RunContext], PromiseResult]
