"""Evaluating bundles: the run's :class:`BundleRunner` (passes, normal order, bindings).

The agent (:class:`engine.eval.agent.Agent`) is the run's context: classes, variables,
``this.*``, bodies, locks, the run report. The runner evaluates bundles in that context
and is the one owner of what the passes remember across a run: each promise's plan,
each bundle's promises by type, the done-sets (which bindings are finished, which
expanded promises were verified) and whether the resolution in progress met a
reference it could not resolve. Acting on a resolved promise (its lock, its actuator,
its outcome) is :mod:`engine.eval.actuate`'s.
"""

from __future__ import annotations

from engine import promisetypes
from engine.eval import expand as ex
from engine.eval.actuate import actuate, flat
from engine.eval.agent import (
    AGENT_ORDER,
    COMMON_ORDER,
    EDIT_ORDER,
    PASSES,
    Tally,
    bundle_display_name,
)
from engine.eval.context import Frame
from engine.eval.outcomes import apply_result
from engine.eval.plans import PromisePlan, by_type
from engine.eval.plans import bindings as _bindings
from engine.eval.plans import condition as _condition
from engine.eval.resolve import BUNDLE_LVALS, PLAIN_LVALS, UNSEEN, FunctionFailed, Unresolved
from engine.policy.ast import Scalar
from engine.promises.base import BundleCall, Outcome, PromiseResult, ResolvedPromise, SkipReason

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from engine.eval.agent import Agent
    from engine.policy.ast import Bundle, Promise

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


def bind_params(agent: Agent, bundle: Bundle, args: tuple[Any, ...], scope: str) -> None:
    for name, value in zip(bundle.args, args, strict=False):
        if isinstance(value, list):
            agent.ctx.set_var(scope, name, value, "slist")
        elif isinstance(value, dict):
            continue
        else:
            agent.ctx.set_var(scope, name, value)


class BundleRunner:
    """Runs the bundles of one agent run, in the agent's context, and keeps what its
    passes remember. One runner per run: it is handed to the :class:`Agent` it serves
    (``agent.runner``), and every method that evaluates takes that agent.

    A done key is ``(id(promise), sorted binding items, frame serial)``: a binding of a
    promise in one bundle frame. A non-recurring promise's binding is finished (done)
    once it was acted on with nothing left to resolve, or skipped in the last pass; it
    is never evaluated again in that frame. The verified set holds each expanded promise
    acted on (type, namespace, bundle, promiser, attributes as text): cf-agent verifies
    one once per run, however often its bundle is called."""

    __slots__ = ("_plans", "_groups", "_done", "_verified", "_ran", "_unresolved",
                 "_with_failure")

    def __init__(self) -> None:
        self._plans: dict[int, PromisePlan] = {}  # by id() of the promise, made once
        self._groups: dict[int, dict[str, list[Promise]]] = {}  # by id() of the bundle
        self._done: set[tuple[Any, ...]] = set()
        self._verified: set[tuple[Any, ...]] = set()
        self._ran: set[int] = set()  # promises acted on at least once (by id())
        self._unresolved = False  # the resolution in progress met an unresolved reference
        # the failure of the ``with`` call of the report resolve_attrs last looked at
        self._with_failure: FunctionFailed | None = None

    # ===== plans ============================================================
    def plan(self, p: Promise) -> PromisePlan:
        """``p``'s plan, made the first time the run meets ``p``."""
        plan = self._plans.get(id(p))
        if plan is None:
            plan = self._plans[id(p)] = PromisePlan(p)
        return plan

    def handle(self, p: Promise) -> str | None:
        """The handle ``p`` names as written (the run report's column)."""
        return self.plan(p).handle

    def grouped(self, bundle: Bundle) -> dict[str, list[Promise]]:
        """``bundle``'s promises by type, made the first time the run evaluates it."""
        grouped = self._groups.get(id(bundle))
        if grouped is None:
            grouped = self._groups[id(bundle)] = by_type(bundle)
        return grouped

    # ===== unresolved references ============================================
    def note_unresolved(self) -> None:
        """The resolver met a reference it could not resolve (left as written)."""
        self._unresolved = True

    def clear_unresolved(self) -> None:
        """Start watching a resolution: :attr:`unresolved` is False until noted again."""
        self._unresolved = False

    @property
    def unresolved(self) -> bool:
        """Whether a reference went unresolved since :meth:`clear_unresolved`."""
        return self._unresolved

    # ===== done-sets ========================================================
    def finished(self, p: Promise) -> list[dict[str, Any]]:
        """The bindings of ``p`` finished so far in this run, in any bundle frame."""
        key = id(p)
        return [dict(binding) for pid, binding, _ in self._done if pid == key]

    # ===== evaluation =======================================================
    def run_bundle(self, agent: Agent, bundle: Bundle, args: tuple[Any, ...] = (),
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
            grouped = self.grouped(bundle)
            order = COMMON_ORDER if bundle.bundle_type == "common" else agent_order(grouped)
            if only is not None:
                order = tuple(t for t in order if t in only)
            agent.log.verbose(f"B: BEGIN bundle {display}")
            plans = self._plans
            done = self._done
            evaluate = self.evaluate_promise
            frame_id = frame.serial  # the top frame whenever a promise of this bundle starts
            aborts = agent.aborts
            ctx = agent.ctx
            # the context's revision when this bundle's vars last ran and changed nothing:
            # while it stays so, running them again would give every variable the value
            # it has (vars read only variables, classes and what actuators change, each
            # of which moves the revision; a failing one moves it too, to be reported)
            settled = -1
            for pass_no in range(1, passes + 1):
                agent.pass_no = pass_no
                last = pass_no == passes
                for ptype in order:
                    if ptype == "vars":
                        if ctx.revision == settled:
                            continue
                        start = ctx.revision
                    for p in grouped.get(ptype, ()):
                        if aborts is not None and aborts.bundle_stopped(frame):
                            break  # abortbundleclasses: the rest of the bundle is skipped
                        plan = plans.get(id(p))
                        if plan is not None and plan.static and (id(p), (), frame_id) in done:
                            # what evaluate_promise does for a promise verified in an earlier pass
                            agent.this_promise = p
                            agent.this_promiser = None
                            continue
                        evaluate(agent, p, last)
                    if aborts is not None and aborts.bundle_stopped(frame):
                        break
                    if ptype == "vars":
                        settled = start if ctx.revision == start else -1
                    elif ptype in _AFTER_PASS_TYPES and ptype in grouped:
                        _after_pass(agent, ptype)
                    elif ptype == "classes" and ctx.revision != settled:
                        # cf-agent resolves variables again once classes are known,
                        # before any other promise type of the same pass runs
                        start = ctx.revision
                        for p in grouped.get("vars", ()):
                            evaluate(agent, p, last)
                        settled = start if ctx.revision == start else -1
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

    def evaluate_promise(self, agent: Agent, p: Promise, last: bool) -> None:
        """Evaluate ``p`` in the current frame: each of its bindings not finished yet
        (every binding again for a recurring type); ``last``: the last pass."""
        agent.this_promise = p  # agent.set_this(p)
        agent.this_promiser = None
        plan = self._plans.get(id(p))
        if plan is None:
            plan = self._plans[id(p)] = PromisePlan(p)
        recurring = plan.recurring
        static = False
        frames = agent.ctx.frames
        frame_id = frames[-1].serial if frames else 0
        done = self._done
        if not recurring:
            known = plan.static
            static = plan.is_static(agent.lookup) if known is None else known
            if static and (id(p), (), frame_id) in done:
                return  # already verified in an earlier pass
        # a guard naming a list ("$(names).linux"::) is decided per iteration
        guard_iterates = "$" in p.guard and not static and _guard_has_list(agent, p.guard)
        if p.guard != "any" and not guard_iterates and not agent.guard_holds(p):
            if last and not recurring and id(p) not in self._ran:
                agent.record(p, p.promiser, "skipped", SkipReason.GUARD_FALSE,
                             p.guard)
            return
        # a static promise's references are scalars of sys, const and this: no lists
        for binding in ({},) if static else _bindings(agent, plan):
            key = (id(p), tuple(sorted(binding.items())) if binding else (), frame_id)
            if not recurring and key in done:
                continue
            agent.overlay = binding
            try:
                if not guard_iterates or agent.guard_holds(p):
                    self._evaluate_binding(agent, p, plan, key, last)
            finally:
                agent.overlay = {}

    def bindings(self, agent: Agent, p: Promise) -> list[dict[str, Any]]:
        """The iteration bindings of ``p`` in the agent's context."""
        return _bindings(agent, self.plan(p))

    def condition(self, agent: Agent, p: Promise) -> tuple[bool, SkipReason | None, str]:
        """``p``'s ``if``/``ifvarclass``/``unless`` for the current binding: whether they
        hold, else the skip reason and the constraint as written."""
        return _condition(agent, self.plan(p))

    def resolve_attrs(self, agent: Agent, p: Promise, plan: PromisePlan | None = None
                      ) -> tuple[dict[str, Any], bool]:
        """``p``'s attributes for the current binding, and whether every reference in
        them resolved (unresolved ones stay as written)."""
        attrs: dict[str, Any] = {}
        self._unresolved = False
        resolver = agent.resolver
        known_bodies = resolver.known_bodies
        frames = agent.ctx.frames
        namespace = frames[-1].namespace if frames else "default"
        self._with_failure = None
        lookup = agent.lookup
        for c in (plan or self.plan(p)).attrs:
            rval = c.rval
            lval = c.lval
            # what Resolver.value gives a literal that names no body, without a call
            if isinstance(rval, Scalar):
                s = rval.value
                if "$" not in s and s[:1] != "@" and lval not in BUNDLE_LVALS and (
                        lval in PLAIN_LVALS
                        or known_bodies.get((lval, s, namespace), UNSEEN) is None):
                    attrs[lval] = s
                    continue
            try:
                attrs[lval] = resolver.value(rval, lookup, lval)
            except FunctionFailed as e:
                if lval != "with" or p.promise_type != "reports":
                    raise
                # cf-agent still makes the report, with $(with) as written
                self._unresolved = True
                self._with_failure = e
        return attrs, not self._unresolved

    def attrs_for(self, agent: Agent, p: Promise, promiser: str) -> dict[str, Any] | None:
        """``p``'s attributes resolved again with ``this.promiser`` the path ``promiser``:
        cf-agent expands a files promise anew for each file its depth search reaches, so
        its classes and its transformer name that file. None when they do not resolve."""
        saved = agent.this_promiser, self._unresolved, self._with_failure
        agent.this_promiser = promiser
        try:
            return self.resolve_attrs(agent, p)[0]
        except (Unresolved, FunctionFailed):
            return None
        finally:
            agent.this_promiser, self._unresolved, self._with_failure = saved

    def _evaluate_binding(self, agent: Agent, p: Promise, plan: PromisePlan, key: tuple,
                          last: bool) -> None:
        recurring = plan.recurring
        self._unresolved = False
        promiser, ok = ex.expand(p.promiser, agent.lookup)
        agent.this_promise = p  # agent.set_this(p, promiser)
        agent.this_promiser = promiser
        if plan.conds or plan.unless is not None:
            holds, reason, detail = _condition(agent, plan)
            if not holds:
                if last and not recurring and key not in self._done:
                    self._done.add(key)
                    agent.log.verbose(f"Skipping promise '{p.promiser}' because constraint "
                                      f"'{detail}' is not met")
                    agent.record(p, promiser, "skipped", reason, detail)
                return
        # vars and classes wait for their depends_on too (cf-agent leaves them undefined)
        if plan.depends_on is not None and not _depends_met(agent, p):
            if last and not recurring:
                self._done.add(key)
                agent.record(p, promiser, "skipped", SkipReason.DEPENDS_ON,
                             "depends_on not yet kept")
            return
        ptype = p.promise_type
        if recurring:
            if not ok and ptype in ("vars", "classes"):
                return  # cf-agent defines nothing under a name it could not expand
            evaluate = _EVALUATORS.get(ptype) or _evaluator(ptype)
            evaluate(agent, p, promiser, last)
            if plan.handle is not None:
                # a vars or classes promise counts as kept for depends_on, as in cf-agent
                agent.handles.setdefault(ex.expand(plan.handle, agent.lookup)[0], Outcome.KEPT)
            return
        if ptype == "files" and ok:
            from engine.eval.file_regex import expand as expand_files

            targets = expand_files(promiser, _files_create(agent, p), agent.log.error) \
                if _files_pattern(agent, p) else None
            if targets is not None:
                self._each_file(agent, p, plan, key, last, promiser, targets)
                return
        self._resolve_and_actuate(agent, p, plan, key, last, promiser, ok)

    def _each_file(self, agent: Agent, p: Promise, plan: PromisePlan, key: tuple, last: bool,
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
                result = self._resolve_and_actuate(agent, p, plan, key, last, path, True,
                                                   pattern)
                if result is not None:
                    outcomes.append(result.outcome)
        finally:
            agent.overlay = base
            agent.this_promiser = pattern
        outcome = worst(outcomes)
        if outcome is None or outcome == Outcome.SKIPPED:
            return
        try:
            attrs, _ = self.resolve_attrs(agent, p, plan)
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

    def _resolve_and_actuate(self, agent: Agent, p: Promise, plan: PromisePlan, key: tuple,
                             last: bool, promiser: str, ok: bool,
                             pattern: str | None = None) -> PromiseResult | None:
        """Resolve the promise's attributes and act on it; the result, or None when it
        did not run. ``pattern``: the files promiser ``promiser`` was expanded from."""
        ptype = p.promise_type
        try:
            attrs, resolved = self.resolve_attrs(agent, p, plan)
        except (Unresolved, FunctionFailed) as e:
            if last:
                self._done.add(key)
                if isinstance(e, FunctionFailed):
                    report = agent.log.verbose if e.quiet else agent.log.error
                    report(f"{e} (in promise '{promiser}' at {p.pos})")
                agent.record(p, promiser, "skipped", SkipReason.UNRESOLVED, str(e))
            return None
        resolved = resolved and ok and not ("$(" in promiser or "${" in promiser)  # ex.has_refs
        if ptype == "reports" and not resolved and not last:
            return None  # printed as written in the last pass
        failed = self._with_failure
        if failed is not None and last:
            report = agent.log.verbose if failed.quiet else agent.log.error
            report(f"{failed} (in promise '{promiser}' at {p.pos})")
        if not resolved and ptype != "reports" and not last:
            return None
        if plan.static and pattern is None:
            self._done.add(key)  # nothing in it can change between passes
        self._ran.add(id(p))
        frames = agent.ctx.frames
        frame = frames[-1] if frames else None
        handle = attrs.get("handle")
        # promise_type, promiser, attrs, bundle, namespace, pos, handle, lvals
        rp = ResolvedPromise(ptype, promiser, attrs, frame.bundle if frame else "",
                             frame.namespace if frame else "default", p.promiser_pos,
                             handle if isinstance(handle, str) else None, plan.lvals)
        # cf-agent verifies a promise once per run: the same expanded promise met
        # again (a bundle called twice with the same arguments) is not repeated
        flat_attrs = tuple([(k, v if v.__class__ is str else flat(v)) for k, v in attrs.items()])
        digest_key = (ptype, rp.namespace, rp.bundle, promiser, flat_attrs)
        if digest_key in self._verified:
            if last and pattern is None:
                self._done.add(key)
            return None
        self._verified.add(digest_key)
        if pattern is not None:  # cf-agent names the promise by its pattern
            rp.attrs = {**rp.attrs, "__pattern__": pattern}
        return actuate(agent, p, rp, flat_attrs)

    def edit_bundle_promises(self, agent: Agent, call: BundleCall, filename: str,
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
            grouped = self.grouped(bundle)
            for ptype in ("vars", "classes"):
                for _ in range(2):
                    for p in grouped.get(ptype, ()):
                        self.evaluate_promise(agent, p, last=True)
            skip = promisetypes.EVALUATION_LEVEL
            for p in bundle.promises:
                ptype = p.promise_type
                if ptype in skip or ptype not in EDIT_ORDER:
                    continue
                agent.set_this(p)
                if not agent.guard_holds(p):
                    continue
                plan = self.plan(p)
                for binding in _bindings(agent, plan):
                    agent.overlay = binding
                    try:
                        promiser, _ = ex.expand(p.promiser, agent.lookup)
                        agent.set_this(p, promiser)
                        holds, _, _ = _condition(agent, plan)
                        if not holds:
                            continue
                        attrs, _ = self.resolve_attrs(agent, p, plan)
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


#: the evaluation-level types' evaluators, imported on first use (a policy without
#: vars or classes does not load them, nor the functions they call) and then looked up
#: in a dict, not imported again on each of the run's thousands of evaluations
_EVALUATORS: dict[str, Callable[[Agent, Promise, str, bool], None]] = {}


def _evaluator(ptype: str) -> Callable[[Agent, Promise, str, bool], None]:
    if ptype in ("vars", "meta"):
        from engine.eval.types import vars as module

        _EVALUATORS["vars"] = module.evaluate_vars
        _EVALUATORS["meta"] = lambda agent, p, promiser, last: module.evaluate_meta(
            agent, p, promiser)
    elif ptype == "classes":
        from engine.eval.types.classes import evaluate_classes

        _EVALUATORS["classes"] = evaluate_classes
    else:
        from engine.eval.types.defaults import evaluate_defaults

        _EVALUATORS["defaults"] = lambda agent, p, promiser, last: evaluate_defaults(
            agent, p, promiser)
    return _EVALUATORS[ptype]


def _guard_has_list(agent: Agent, guard: str) -> bool:
    return bool(ex.iterables([guard], agent.lookup))


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


def _no_refs(v: Any) -> Any:
    if isinstance(v, list):
        return [x for x in v if not (isinstance(x, str) and ex.has_refs(x))]
    return [] if isinstance(v, str) and ex.has_refs(v) else v


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


def is_scalar(rval: Any) -> bool:
    return isinstance(rval, Scalar)
