"""Evaluating bundles: passes, normal ordering, per-promise dispatch and locks."""

from __future__ import annotations

from engine import promisetypes
from engine.eval import expand as ex
from engine.eval.agent import (
    AGENT_ORDER,
    COMMON_ORDER,
    EDIT_ORDER,
    OUTCOME_TEXT,
    PASSES,
    UNLOCKED_TYPES,
    Tally,
    bundle_display_name,
)
from engine.eval.context import Frame
from engine.eval.outcomes import apply_result
from engine.eval.resolve import FunctionFailed, Unresolved
from engine.log import Level
from engine.policy.ast import FnCall, Scalar
from engine.promises.base import BundleCall, Outcome, PromiseResult, ResolvedPromise, SkipReason
from engine.promises.reports import actuate_report
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from engine.eval.agent import Agent, PromisePlan
    from engine.policy.ast import Bundle, Promise

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


_AFTER_PASS_TYPES = frozenset({"packages"})  # engine.promises.registry.AFTER_PASS_TYPES


def _after_pass(agent: Agent, promise_type: str) -> None:
    """What a promise type does once its promises of a pass are done (packages run
    the commands they scheduled)."""
    from engine.promises import registry

    hook = registry.after_pass(promise_type)
    if hook is None:
        return
    try:
        hook(agent)
    except Exception as e:  # an actuator bug must not end the run
        agent.log.error(f"Finishing the {promise_type} promises of this pass failed: {e}")


def agent_order(grouped: dict[str, list[Promise]]) -> tuple[str, ...]:
    """The normal order of an agent bundle; promise types it is not made of (custom
    ones, or unknown) come after the built-in ones, in the order they first appear."""
    extra = tuple(t for t in grouped if t not in _AGENT_TYPES)
    return AGENT_ORDER + extra if extra else AGENT_ORDER


_AGENT_TYPES = frozenset(AGENT_ORDER)


def by_type(bundle: Bundle) -> dict[str, list[Promise]]:
    out: dict[str, list[Promise]] = {}
    for p in bundle.promises:
        out.setdefault(p.promise_type, []).append(p)
    return out


def bind_params(agent: Agent, bundle: Bundle, args: tuple[Any, ...], scope: str) -> None:
    for name, value in zip(bundle.args, args, strict=False):
        if isinstance(value, list):
            agent.ctx.set_var(scope, name, value, "slist")
        elif isinstance(value, dict):
            continue
        else:
            agent.ctx.set_var(scope, name, value)


def run_bundle(agent: Agent, bundle: Bundle, args: tuple[Any, ...] = (),
               passes: int = PASSES, only: tuple[str, ...] | None = None,
               inherit: bool = False) -> Tally:
    """Evaluate ``bundle`` with ``args``; returns the tally of its promises.

    With ``inherit`` (a method's ``inherit => "true"``) the bundle starts with the
    caller's bundle-scoped classes, as cf-agent does."""
    display = bundle_display_name(bundle)
    caller = agent.ctx.frame
    inherited = set(caller.classes) if inherit and caller is not None else None
    frame = Frame(bundle.namespace, display, bundle.bundle_type, inherited)
    # the promise that called this bundle (a method's), for callstack_callers()
    agent.bundle_stack.append((bundle, agent.this_promise if caller is not None else None))
    agent.ctx.push(frame)
    tally = Tally()
    agent.tallies.append(tally)
    try:
        bind_params(agent, bundle, args, frame.scope)
        grouped = by_type(bundle)
        order = COMMON_ORDER if bundle.bundle_type == "common" else agent_order(grouped)
        if only is not None:
            order = tuple(t for t in order if t in only)
        agent.log.verbose(f"B: BEGIN bundle {display}")
        plans = agent._plans
        done = agent.done
        frame_id = frame.serial  # the top frame whenever a promise of this bundle starts
        aborts = agent.aborts
        for pass_no in range(1, passes + 1):
            agent.pass_no = pass_no
            last = pass_no == passes
            for ptype in order:
                for p in grouped.get(ptype, ()):
                    if aborts is not None and aborts.bundle_stopped(frame):
                        break  # abortbundleclasses: the rest of the bundle is skipped
                    plan = plans.get(id(p))
                    if plan is not None and plan.static and (id(p), (), frame_id) in done:
                        # what evaluate_promise does for a promise verified in an earlier pass
                        agent.this_promise = p
                        agent.this_promiser = None
                        continue
                    evaluate_promise(agent, p, last)
                if aborts is not None and aborts.bundle_stopped(frame):
                    break
                if ptype in _AFTER_PASS_TYPES and ptype in grouped:
                    _after_pass(agent, ptype)
                if ptype == "classes":
                    # cf-agent resolves variables again once classes are known,
                    # before any other promise type of the same pass runs
                    for p in grouped.get("vars", ()):
                        evaluate_promise(agent, p, last)
            if aborts is not None and aborts.bundle_stopped(frame):
                break
    finally:
        agent.tallies.pop()
        agent.ctx.pop()
        agent.bundle_stack.pop()
        if agent.aborts is not None:
            agent.aborts.bundle_done(frame)
    if agent.tallies:
        parent = agent.tallies[-1]
        parent.kept += tally.kept
        parent.repaired += tally.repaired
        parent.notkept += tally.notkept
    return tally


def evaluate_promise(agent: Agent, p: Promise, last: bool) -> None:
    agent.this_promise = p  # agent.set_this(p)
    agent.this_promiser = None
    plan = agent.plan(p)
    recurring = plan.recurring
    static = False
    frames = agent.ctx.frames
    frame_id = frames[-1].serial if frames else 0
    if not recurring:
        known = plan.static
        static = agent.is_static(p) if known is None else known
        if static and (id(p), (), frame_id) in agent.done:
            return  # already verified in an earlier pass
    # a guard naming a list ("$(names).linux"::) is decided per iteration
    guard_iterates = "$" in p.guard and not static and _guard_has_list(agent, p.guard)
    if p.guard != "any" and not guard_iterates and not agent.guard_holds(p):
        if last and not recurring and id(p) not in agent.ran:
            agent.record(p, p.promiser, "skipped", SkipReason.GUARD_FALSE,
                         p.guard)
        return
    # a static promise's references are scalars of sys, const and this: no lists
    for binding in ({},) if static else agent.bindings(p):
        key = (id(p), tuple(sorted(binding.items())) if binding else (), frame_id)
        if not recurring and key in agent.done:
            continue
        agent.overlay = binding
        try:
            if not guard_iterates or agent.guard_holds(p):
                _evaluate_binding(agent, p, plan, key, last)
        finally:
            agent.overlay = {}


def _guard_has_list(agent: Agent, guard: str) -> bool:
    return bool(ex.iterables([guard], agent.lookup))


def _evaluate_binding(agent: Agent, p: Promise, plan: PromisePlan, key: tuple,
                      last: bool) -> None:
    recurring = plan.recurring
    agent._unresolved = False
    promiser, ok = ex.expand(p.promiser, agent.lookup)
    agent.this_promise = p  # agent.set_this(p, promiser)
    agent.this_promiser = promiser
    if plan.conds or plan.unless is not None:
        holds, reason, detail = agent.condition(p)
        if not holds:
            if last and not recurring and key not in agent.done:
                agent.done.add(key)
                agent.log.verbose(f"Skipping promise '{p.promiser}' because constraint "
                                  f"'{detail}' is not met")
                agent.record(p, promiser, "skipped", reason, detail)
            return
    # vars and classes wait for their depends_on too (cf-agent leaves them undefined)
    if plan.depends_on is not None and not _depends_met(agent, p):
        if last and not recurring:
            agent.done.add(key)
            agent.record(p, promiser, "skipped", SkipReason.DEPENDS_ON, "depends_on not yet kept")
        return
    ptype = p.promise_type
    if recurring:
        if not ok and ptype in ("vars", "classes"):
            return  # cf-agent defines nothing under a name it could not expand
        if ptype == "vars":
            from engine.eval.types.vars import evaluate_vars

            evaluate_vars(agent, p, promiser, last)
        elif ptype == "classes":
            from engine.eval.types.classes import evaluate_classes

            evaluate_classes(agent, p, promiser, last)
        elif ptype == "meta":
            from engine.eval.types.vars import evaluate_meta

            evaluate_meta(agent, p, promiser)
        elif ptype == "defaults":
            from engine.eval.types.defaults import evaluate_defaults

            evaluate_defaults(agent, p, promiser)
        if plan.handle is not None:
            # a vars or classes promise counts as kept for depends_on, as in cf-agent
            agent.handles.setdefault(ex.expand(plan.handle, agent.lookup)[0], Outcome.KEPT)
        return
    if ptype == "files" and ok:
        from engine.eval.file_regex import expand as expand_files

        targets = expand_files(promiser, _files_create(agent, p), agent.log.error) \
            if _files_pattern(agent, p) else None
        if targets is not None:
            _each_file(agent, p, plan, key, last, promiser, targets)
            return
    _resolve_and_actuate(agent, p, plan, key, last, promiser, ok)


def _files_pattern(agent: Agent, p: Promise) -> bool:
    """A files promiser may be a pattern unless ``pathtype`` says ``literal`` or the
    promise copies (cf-agent takes a copy's destination literally)."""
    if p.get("copy_from") is not None:
        return False
    rval = p.get("pathtype")
    if not isinstance(rval, Scalar):
        return True
    return ex.expand(rval.value, agent.lookup)[0] != "literal"


def _files_create(agent: Agent, p: Promise) -> bool:
    rval = p.get("create")
    return isinstance(rval, Scalar) and ex.expand(rval.value, agent.lookup)[0] in (
        "true", "yes", "on")


def _each_file(agent: Agent, p: Promise, plan: PromisePlan, key: tuple, last: bool,
               pattern: str, targets: list[tuple[str, dict[str, str]]]) -> None:
    """A files promise whose promiser is a pattern: kept once for each path it
    stands for (``this.promiser`` the path, ``match.N`` its groups), in every pass
    (a path met again is not repeated); then the promise's classes for the
    pattern itself, with the worst of their outcomes, as cf-agent defines them."""
    from engine.eval.file_regex import worst

    base = agent.overlay
    outcomes: list[str] = []
    try:
        for path, groups in targets:
            agent.overlay = {**base, **groups} if groups else base
            agent.this_promiser = path
            result = _resolve_and_actuate(agent, p, plan, key, last, path, True, pattern)
            if result is not None:
                outcomes.append(result.outcome)
    finally:
        agent.overlay = base
        agent.this_promiser = pattern
    outcome = worst(outcomes)
    if outcome is None or outcome == Outcome.SKIPPED:
        return
    try:
        attrs, _ = agent.resolve_attrs(p, plan)
    except (Unresolved, FunctionFailed):
        return
    body = attrs.get("classes")
    if isinstance(body, dict):  # names still holding a reference (match.N) are not defined
        attrs = {**attrs, "classes": {k: _no_refs(v) for k, v in body.items()}}
    frame = agent.ctx.frames[-1] if agent.ctx.frames else None
    rp = ResolvedPromise("files", pattern, attrs, frame.bundle if frame else "",
                         frame.namespace if frame else "default", p.promiser_pos, None,
                         plan.lvals)
    apply_result(agent, None, rp, PromiseResult(Outcome(outcome)))


def _no_refs(v: Any) -> Any:
    if isinstance(v, list):
        return [x for x in v if not (isinstance(x, str) and ex.has_refs(x))]
    return [] if isinstance(v, str) and ex.has_refs(v) else v


def _resolve_and_actuate(agent: Agent, p: Promise, plan: PromisePlan, key: tuple, last: bool,
                         promiser: str, ok: bool,
                         pattern: str | None = None) -> PromiseResult | None:
    """Resolve the promise's attributes and act on it; the result, or None when it
    did not run. ``pattern``: the files promiser ``promiser`` was expanded from."""
    ptype = p.promise_type
    try:
        attrs, resolved = agent.resolve_attrs(p, plan)
    except (Unresolved, FunctionFailed) as e:
        if last:
            agent.done.add(key)
            if isinstance(e, FunctionFailed):
                report = agent.log.verbose if e.quiet else agent.log.error
                report(f"{e} (in promise '{promiser}' at {p.pos})")
            agent.record(p, promiser, "skipped", SkipReason.UNRESOLVED, str(e))
        return None
    resolved = resolved and ok and not ("$(" in promiser or "${" in promiser)  # ex.has_refs
    if ptype == "reports" and not resolved and not last:
        return None  # printed as written in the last pass
    failed = agent.with_failure
    if failed is not None and last:
        report = agent.log.verbose if failed.quiet else agent.log.error
        report(f"{failed} (in promise '{promiser}' at {p.pos})")
    if not resolved and ptype != "reports" and not last:
        return None
    if plan.static and pattern is None:
        agent.done.add(key)  # nothing in it can change between passes
    agent.ran.add(id(p))
    frames = agent.ctx.frames
    frame = frames[-1] if frames else None
    handle = attrs.get("handle")
    # promise_type, promiser, attrs, bundle, namespace, pos, handle, lvals
    rp = ResolvedPromise(ptype, promiser, attrs, frame.bundle if frame else "",
                         frame.namespace if frame else "default", p.promiser_pos,
                         handle if isinstance(handle, str) else None, plan.lvals)
    # cf-agent verifies a promise once per run: the same expanded promise met
    # again (a bundle called twice with the same arguments) is not repeated
    flat = tuple([(k, v if v.__class__ is str else _flat(v)) for k, v in attrs.items()])
    digest_key = (ptype, rp.namespace, rp.bundle, promiser, flat)
    if digest_key in agent.verified:
        if last and pattern is None:
            agent.done.add(key)
        return None
    agent.verified.add(digest_key)
    if pattern is not None:  # cf-agent names the promise by its pattern
        rp.attrs = {**rp.attrs, "__pattern__": pattern}
    _report_unsupported_attributes(agent, p, rp)
    if agent.log.enabled(Level.VERBOSE):
        _verbose_header(agent, p, rp)
    return _actuate_locked(agent, p, rp, flat)


_UNSUPPORTED: dict[str, frozenset[str]] = {}


def _report_unsupported_attributes(agent: Agent, p: Promise, rp: ResolvedPromise) -> None:
    """An attribute the syntax registry marks as not acted on is an error naming the
    promise's file and line (the rest of the promise is still verified)."""
    if not _UNSUPPORTED:
        from engine.policy import syntax

        _UNSUPPORTED.update(syntax.UNSUPPORTED_ATTRIBUTES)
        _UNSUPPORTED.setdefault("", frozenset())  # loaded
    unsupported = _UNSUPPORTED.get(p.promise_type)
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


def _depends_met(agent: Agent, p: Promise) -> bool:
    rval = p.get("depends_on")
    if rval is None:
        return True
    try:
        handles = agent.resolver.value(rval, agent.lookup, "depends_on")
    except (Unresolved, FunctionFailed):
        return False
    if isinstance(handles, str):
        handles = [handles]
    return all(agent.handles.get(h) in (Outcome.KEPT, Outcome.REPAIRED) for h in handles)


def _actuate_locked(agent: Agent, p: Promise, rp: ResolvedPromise,
                    flat: tuple[tuple[str, str], ...] | None = None) -> PromiseResult | None:
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
        if flat is None:
            flat = tuple((k, _flat(v)) for k, v in rp.attrs.items())
        lock_promiser = _lock_operand(p, rp)
        lvals = _lock_lvals(rp)
        digest = lockname.promise_digest(rp.promiser, rp.bundle, rp.namespace, flat)
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
                text.append(_flat(v))
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


def _flat(v: Any) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, dict):
        return ",".join(f"{k}={_flat(x)}" for k, x in v.items() if not k.startswith("__"))
    if isinstance(v, BundleCall):
        return f"{v.name}({','.join(_flat(a) for a in v.args)})"
    return str(v)


def edit_bundle_promises(agent: Agent, call: BundleCall, filename: str,
                         bundle_type: str = "edit_line") -> list[ResolvedPromise]:
    """Expand an edit bundle for one file: its edit promises, resolved, in normal order."""
    ns = agent.ctx.namespace
    bundle = agent.policy.find_bundle(call.name, ns)
    if bundle is None or bundle.bundle_type != bundle_type:
        agent.log.error(f"No {bundle_type} bundle '{call.name}' found")
        return []
    frame = Frame(bundle.namespace, bundle.name, bundle.bundle_type)
    agent.ctx.push(frame)
    out: list[ResolvedPromise] = []
    saved_this = (agent.this_promise, agent.this_promiser)
    try:
        bind_params(agent, bundle, call.args, frame.scope)
        agent.ctx.set_var("edit", "filename", filename)
        grouped = by_type(bundle)
        for ptype in ("vars", "classes"):
            for _ in range(2):
                for p in grouped.get(ptype, ()):
                    evaluate_promise(agent, p, last=True)
        skip = promisetypes.EVALUATION_LEVEL
        for p in bundle.promises:
            ptype = p.promise_type
            if ptype in skip or ptype not in EDIT_ORDER:
                continue
            agent.set_this(p)
            if not agent.guard_holds(p):
                continue
            for binding in agent.bindings(p):
                agent.overlay = binding
                try:
                    promiser, _ = ex.expand(p.promiser, agent.lookup)
                    agent.set_this(p, promiser)
                    holds, _, _ = agent.condition(p)
                    if not holds:
                        continue
                    attrs, _ = agent.resolve_attrs(p)
                    out.append(ResolvedPromise(
                        promise_type=ptype, promiser=promiser, attrs=attrs,
                        bundle=bundle.name, namespace=bundle.namespace, pos=p.pos,
                        handle=attrs.get("handle") if isinstance(attrs.get("handle"), str) else None,
                        lvals=tuple(c.lval for c in p.constraints),
                    ))
                except (Unresolved, FunctionFailed):
                    continue
                finally:
                    agent.overlay = {}
    finally:
        agent.ctx.pop()
        agent.this_promise, agent.this_promiser = saved_this
    return out


def is_scalar(rval: Any) -> bool:
    return isinstance(rval, Scalar)
