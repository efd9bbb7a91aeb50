"""Acting on one resolved promise: the unsupported-attribute errors and the verbose
header cf-agent prints, the lock cf-agent would take (named as cf-agent names it), the
actuator, then the outcome (classes, handles) and the run report's row.

:class:`engine.eval.bundles.BundleRunner` decides that a promise is to be acted on
(resolved, not done yet, not verified before with the same expansion) and hands it
here; nothing here keeps state between promises but the tables of actuators found.
"""

from __future__ import annotations

from engine import promisetypes
from engine.eval import expand as ex
from engine.eval.agent import OUTCOME_TEXT, UNLOCKED_TYPES
from engine.eval.outcomes import apply_result
from engine.log import Level
from engine.policy.ast import FnCall, Scalar
from engine.promises.base import BundleCall, Outcome, PromiseResult, SkipReason
from engine.promises.reports import actuate_report
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from engine.eval.agent import Agent
    from engine.policy.ast import Promise
    from engine.promises.base import ResolvedPromise


def actuate(agent: Agent, p: Promise, rp: ResolvedPromise,
            flat_attrs: tuple[tuple[str, str], ...] | None = None) -> PromiseResult | None:
    """Act on ``rp`` (resolved from ``p``) under its lock; its result, or None when the
    lock was refused (recorded as the promise's skip). ``flat_attrs``: its attributes as
    text, when the caller has them (the lock's digest is made of them)."""
    if p.promise_type != "reports" or "report_to_file" in rp.attrs:
        agent.ctx.revision += 1  # what it changes (files, processes...) functions may read
    _report_unsupported_attributes(agent, p, rp)
    if agent.log.enabled(Level.VERBOSE):
        _verbose_header(agent, p, rp)
    return _actuate_locked(agent, p, rp, flat_attrs)


_ACTUATORS: dict[str, Any] = {}


def actuator(promise_type: str) -> Any:
    """The ``actuate`` function of a built-in promise type (``engine.promises.registry``)."""
    fn = _ACTUATORS.get(promise_type)
    if fn is None:
        from engine.promises import registry

        fn = registry.builtin(promise_type)
        if fn is not None:
            _ACTUATORS[promise_type] = fn
    return fn


def _report_unsupported_attributes(agent: Agent, p: Promise, rp: ResolvedPromise) -> None:
    """An attribute the promise-type table marks as not acted on is an error naming the
    promise's file and line (the rest of the promise is still verified)."""
    unsupported = promisetypes.UNSUPPORTED_ATTRIBUTES.get(p.promise_type)
    if not unsupported:
        return
    for lval in rp.lvals:
        if lval in unsupported:
            agent.log.error(f"Attribute '{lval}' of {p.promise_type} promises is not supported "
                            f"by vigil: promise '{rp.promiser}' at {rp.pos.file}:{rp.pos.line} "
                            "verified without it")


def _verbose_header(agent: Agent, p: Promise, rp: ResolvedPromise) -> None:
    """cf-agent's verbose block before it verifies a promise (the comment expanded)."""
    import os

    log = agent.log.verbose
    name = rp.handle or f"promise_{canonify(os.path.basename(p.pos.file))}_{p.pos.line}"
    log("P: .........................................................")
    log(f'P: BEGIN promise \'{name}\' of type "{p.promise_type}" (pass {agent.pass_no})')
    log(f"P:    Promiser/affected object: '{rp.promiser}'")
    log(f"P:    Part of bundle: {rp.bundle}")
    log(f"P:    Base context class: {p.guard}")
    log(f"P:    Stack path: /{rp.namespace}/{rp.bundle}/{p.promise_type}/'{rp.promiser}'[1]")
    comment = p.get("comment")
    if isinstance(comment, Scalar):
        log("P:")
        log(f"P:    Comment:  {ex.expand(comment.value, agent.lookup)[0]}")


def _actuate_locked(agent: Agent, p: Promise, rp: ResolvedPromise,
                    flat_attrs: tuple[tuple[str, str], ...] | None = None) -> PromiseResult | None:
    action = rp.attrs.get("action")
    if isinstance(action, dict):
        ifelapsed = _int(action.get("ifelapsed"), agent.ifelapsed)
        expireafter = _int(action.get("expireafter"), agent.expireafter)
    else:
        ifelapsed, expireafter = agent.ifelapsed, agent.expireafter
    lock_id = None
    if (not agent.opts.no_lock and not agent.dry_run and p.promise_type not in UNLOCKED_TYPES
            and agent.locks is not None):
        lockname = _lockname()
        if flat_attrs is None:
            flat_attrs = tuple((k, flat(v)) for k, v in rp.attrs.items())
        lock_promiser = _lock_operand(p, rp)
        lvals = _lock_lvals(rp)
        digest = lockname.promise_digest(rp.promiser, rp.bundle, rp.namespace, flat_attrs)
        lock_id = lockname.lock_name(rp.bundle, p.promise_type, lvals, agent.host, lock_promiser,
                                     digest)
        decision = agent.locks.acquire(lock_id, ifelapsed, expireafter, now=agent.start)
        if not decision.acquired:
            agent.record(p, rp.promiser, "skipped", SkipReason(decision.reason), decision.detail, lock_id,
                         ifelapsed, expireafter)
            return None
    try:
        result = dispatch(agent, p, rp)
    finally:
        if lock_id is not None:
            agent.locks.release(lock_id)
    apply_result(agent, p, rp, result)
    agent.record(p, rp.promiser, OUTCOME_TEXT[result.outcome], None, result.message, lock_id,
                 ifelapsed, expireafter)
    return result


_LOCKNAME: list[Any] = []


def _lockname() -> Any:
    """``engine.state.lockname``, imported on the first locked promise (never under -K)."""
    if not _LOCKNAME:
        from engine.state import lockname

        _LOCKNAME.append(lockname)
    return _LOCKNAME[0]


# cf-agent moves these constraints to the front of the expanded promise, in
# this order, before naming its lock; the others keep their policy order.
_LOCK_FIRST_LVALS = ("ifvarclass", "if", "unless", "depends_on")


_LOCK_ORDER: dict[tuple[str, ...], tuple[str, ...]] = {}


def _lock_lvals(rp: ResolvedPromise) -> Sequence[str]:
    """The lvals cf-agent's lock name is made of (before its cut to five)."""
    names = rp.lvals
    ordered = _LOCK_ORDER.get(names)
    if ordered is None:
        first = [lv for lv in _LOCK_FIRST_LVALS if lv in names]
        ordered = _LOCK_ORDER[names] = (*first, *(lv for lv in names if lv not in _LOCK_FIRST_LVALS))
    bodies = {lv: list(v.get("__lvals__", ())) for lv, v in rp.attrs.items()
              if isinstance(v, dict) and "__type__" in v}
    if not bodies:
        return ordered
    return _lockname().expand_lvals(ordered, bodies)


def _lock_operand(p: Promise, rp: ResolvedPromise) -> str:
    """The text cf-agent canonifies into the promiser part of a lock name:
    commands add ``args`` and ``arglist``; methods are ``method <name> `` plus
    their arguments run together (a list argument as written, ``@(x)``);
    processes are ``proc <name> <restart_class or norestart>``."""
    ptype = p.promise_type
    if ptype == "commands":
        parts = [rp.promiser]
        args = rp.attrs.get("args")
        if isinstance(args, str) and args:
            parts.append(args)
        arglist = rp.attrs.get("arglist")
        if isinstance(arglist, list):
            parts.extend(str(a) for a in arglist)
        return " ".join(parts)
    if ptype == "methods":
        call = rp.attrs.get("usebundle")
        values = call.args if isinstance(call, BundleCall) else ()
        rval = p.get("usebundle")
        written = rval.args if isinstance(rval, FnCall) else ()
        text = []
        for i, v in enumerate(values):
            w = written[i] if i < len(written) else None
            if isinstance(v, (list, dict)) and isinstance(w, Scalar):
                text.append(w.value)
            else:
                text.append(flat(v))
        return f"method {rp.promiser} " + "".join(text)
    if ptype == "processes":
        restart = rp.attrs.get("restart_class")
        return f"proc {rp.promiser} {restart if isinstance(restart, str) and restart else 'norestart'}"
    return rp.promiser


def dispatch(agent: Agent, p: Promise, rp: ResolvedPromise) -> PromiseResult:
    ptype = p.promise_type
    if ptype == "reports":
        return actuate_report(agent, rp)
    if ptype == "methods":
        from engine.promises.methods import actuate_method

        return actuate_method(agent, rp)
    fn = _ACTUATORS.get(ptype) or actuator(ptype)
    if fn is None:
        if agent.promise_block(ptype) is not None:
            from engine.promises import registry

            fn = registry.custom()
        else:
            from engine.policy import syntax

            what = ("is not supported by vigil" if ptype in syntax.table().promise_types
                    else "is undefined (no 'promise agent' block)")
            agent.log.error(f"Promise type '{ptype}' {what}: promise '{rp.promiser}' at "
                            f"{rp.pos.file}:{rp.pos.line} not kept")
            return PromiseResult(Outcome.NOTKEPT, message=f"promise type '{ptype}' {what}")
    try:
        return fn(rp, agent)
    except Exception as e:  # an actuator bug must not end the run
        agent.log.error(f"Promise '{rp.promiser}' ({ptype}) at {rp.pos} failed: {e}")
        return PromiseResult(Outcome.NOTKEPT, message=str(e))


def _int(v: Any, default: int) -> int:
    try:
        return int(str(v)) if v is not None else default
    except ValueError:
        return default


def flat(v: Any) -> str:
    """An attribute's value as one text (the lock's digest, the run's verified set)."""
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, dict):
        return ",".join(f"{k}={flat(x)}" for k, x in v.items() if not k.startswith("__"))
    if isinstance(v, BundleCall):
        return f"{v.name}({','.join(flat(a) for a in v.args)})"
    return str(v)

