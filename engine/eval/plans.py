"""What evaluating a promise needs from its AST node, worked out once per run.

A :class:`PromisePlan` holds what the passes would otherwise read from the (immutable)
promise again and again: the strings it expands, its conditions, the constraints that
become attributes. :func:`by_type` groups a bundle's promises by type for the normal
order. Both are made and kept by :class:`engine.eval.bundles.BundleRunner`; what a plan
decides in the agent's context for the current binding (its iteration :func:`bindings`,
its :func:`condition`) is here too.
"""

from __future__ import annotations

import itertools

from engine.eval import expand as ex
from engine.policy.ast import FnCall, RList, Scalar
from engine.promises.base import SkipReason
from engine.promisetypes import RECURRING

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from engine.eval.agent import Agent
    from engine.policy.ast import Bundle, Promise, Rval

_CONDITION_LVALS = ("if", "ifvarclass")
_NOT_ATTRS = frozenset({"if", "ifvarclass", "unless"})


class PromisePlan:
    """What evaluating one promise needs from its (immutable) AST node, worked out
    once per run: the strings it expands, its conditions, the constraints that
    become attributes, and whether it is static (see :meth:`BundleRunner.is_static`)."""

    __slots__ = ("strings", "conds", "unless", "depends_on", "handle", "attrs", "lvals",
                 "has_call", "static", "recurring", "shown")

    def __init__(self, p: Promise) -> None:
        strings = [p.promiser]
        if "$" in p.guard:  # a guard naming a list iterates the promise too
            strings.append(p.guard)
        first: dict[str, Rval] = {}  # each lval's first rval, as Promise.get finds it
        attrs = []
        lvals = []
        has_call = False
        for c in p.constraints:
            rval = c.rval
            lval = c.lval
            if isinstance(rval, Scalar):
                strings.append(rval.value)
            else:
                _collect(rval, strings)
                has_call = has_call or _has_call(rval)
            if lval not in first:
                first[lval] = rval
            if lval not in _NOT_ATTRS:
                attrs.append(c)
            lvals.append(lval)
        self.strings = strings
        conds = []
        for lv in _CONDITION_LVALS:
            if lv in first:
                conds.append((lv, first[lv]))
        self.conds = tuple(conds)
        self.unless = first.get("unless")
        self.depends_on = first.get("depends_on")
        handle = first.get("handle")
        self.handle = handle.value if isinstance(handle, Scalar) else None
        self.attrs = tuple(attrs)
        self.lvals = tuple(lvals)
        self.has_call = has_call
        self.static: bool | None = None  # computed on first use, it needs lookups
        self.recurring = p.promise_type in RECURRING
        # "if => expr" as written, per condition lval, made when first needed
        self.shown: dict[str, str] | None = None

    def detail(self, lval: str, rval: Rval) -> str:
        """``lval => rval`` as written, for the skip record of a condition."""
        shown = self.shown
        if shown is None:
            shown = self.shown = {}
        text = shown.get(lval)
        if text is None:
            text = shown[lval] = f"{lval} => {_show(rval)}"
        return text

    def is_static(self, lookup: Any) -> bool:
        """True when nothing in the promise can expand differently on a later pass:
        it calls no function and refers only to ``sys``, ``const`` and ``this``."""
        static = self.static
        if static is None:
            static = not self.has_call
            if static:
                for s in self.strings:
                    if ("$" in s or "@" in s) and not ex.static_refs(s, lookup):
                        static = False
                        break
            self.static = static
        return static


def bindings(agent: Agent, plan: PromisePlan) -> list[dict[str, Any]]:
    """The iteration bindings of the promise: one dict per element of the cross product."""
    if plan.static:
        return [{}]  # its references are scalars of sys, const and this: no lists
    strings = plan.strings
    lookup = agent.lookup
    names = ex.iterables(strings, lookup)
    if not names:
        return [{}]
    lists = []
    for n in names:
        lists.append(ex.iter_values(lookup(n)) or [])
    out = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*lists)]
    # a binding may expose nested lists ($(a_$(b)) where a_x is a list)
    expanded: list[dict[str, Any]] = []
    for b in out:
        agent.overlay = b
        more = [n for n in ex.iterables(strings, lookup) if n not in b]
        if more:
            vals = [ex.iter_values(lookup(n)) or [] for n in more]
            for combo in itertools.product(*vals):
                expanded.append({**b, **dict(zip(more, combo, strict=True))})
        else:
            expanded.append(b)
    # an iteration where $(a[$(k)]) names nothing is skipped, as cf-agent does
    kept = []
    for b in expanded:
        agent.overlay = b
        if not ex.empty_wheel(strings, lookup, b):
            kept.append(b)
    agent.overlay = {}
    return kept


def condition(agent: Agent, plan: PromisePlan) -> tuple[bool, SkipReason | None, str]:
    """``if``/``ifvarclass``/``unless`` for the current binding; the detail names the
    constraint as written (``if => start_alpha``)."""
    for lval, rval in plan.conds:
        holds = agent.class_rval(rval)
        if holds is None:
            return False, SkipReason.UNRESOLVED, plan.detail(lval, rval)
        if not holds:
            return False, SkipReason.IF_FALSE, plan.detail(lval, rval)
    unless = plan.unless
    if unless is not None:
        holds = agent.class_rval(unless)
        if holds is None and agent.resolving:
            # while the policy is resolved (before the bundlesequence) cf-agent
            # skips it; it runs it when it evaluates the bundle
            return False, SkipReason.UNRESOLVED, plan.detail("unless", unless)
        if holds is None:
            return True, None, ""  # unresolved unless: cf-agent runs the promise
        if holds:
            return False, SkipReason.UNLESS_TRUE, plan.detail("unless", unless)
    return True, None, ""


def by_type(bundle: Bundle) -> dict[str, list[Promise]]:
    """The promises of ``bundle`` by type, each type in the order first met."""
    out: dict[str, list[Promise]] = {}
    for p in bundle.promises:
        out.setdefault(p.promise_type, []).append(p)
    return out


def _show(rval: Rval) -> str:
    if isinstance(rval, Scalar):
        return rval.value
    if isinstance(rval, FnCall):
        return f"{rval.name}({', '.join(_show(a) for a in rval.args)})"
    return "{ " + ", ".join(_show(i) for i in rval.items) + " }"


def _has_call(rval: Rval) -> bool:
    if isinstance(rval, FnCall):
        return True
    if isinstance(rval, RList):
        return any(_has_call(i) for i in rval.items)
    return False


def _collect(rval: Rval, out: list[str]) -> None:
    if isinstance(rval, Scalar):
        out.append(rval.value)
    elif isinstance(rval, RList):
        for i in rval.items:
            _collect(i, out)
    else:
        if "$" in rval.name:  # usebundle => $(bundles)(x) iterates over the name too
            out.append(rval.name)
        for a in rval.args:
            _collect(a, out)

