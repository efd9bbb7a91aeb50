"""After an actuator returns: outcome classes, handles, tallies, module results.

``classes`` bodies name classes to define per outcome (``promise_kept``,
``promise_repaired``, ``repair_failed``, ``repair_denied``, ``repair_timeout``)
and to cancel (``cancel_kept``, ``cancel_repaired``, ``cancel_notkept``).
They are namespace-scoped unless ``scope => "bundle"``; with ``persist_time``
they are also stored as persistent classes and promoted to namespace scope.
"""

from __future__ import annotations

from engine.eval.values import Data
from engine.policy.ast import Promise
from engine.promises.base import Outcome, PromiseResult, ResolvedPromise
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from engine.eval.base import AgentCore
    from engine.promises.commands.module_protocol import ModuleOutput

_DEFINE = {
    Outcome.KEPT: ("promise_kept",),
    Outcome.REPAIRED: ("promise_repaired",),
    Outcome.NOTKEPT: ("repair_failed",),
    Outcome.DENIED: ("repair_denied",),
    Outcome.TIMEOUT: ("repair_timeout",),
}
_CANCEL = {
    Outcome.KEPT: ("cancel_kept",),
    Outcome.REPAIRED: ("cancel_repaired",),
    Outcome.NOTKEPT: ("cancel_notkept",),
    Outcome.DENIED: ("cancel_notkept",),
    Outcome.TIMEOUT: ("cancel_notkept",),
}


# an enum member looked up on its class costs a metaclass attribute lookup each time
_SKIPPED, _KEPT, _REPAIRED = Outcome.SKIPPED, Outcome.KEPT, Outcome.REPAIRED


def _names(value: object) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [canonify(str(v)) for v in items if str(v)]


def apply_module(agent: Any, out: ModuleOutput) -> None:
    """Define what a module printed (a ``commands`` promise with ``module => "true"``,
    or ``usemodule()``): its classes (namespace-scoped, stored as persistent classes
    when ``^persistence`` asked) and its variables in the bundles it named."""
    ctx = agent.ctx
    for name in out.cancel:
        ctx.undefine(name)
    persistent = getattr(agent, "persistent", None)
    for name in out.classes:
        tags = out.class_tags.get(name, ())
        ctx.define(name, "namespace", tags)
        minutes = out.persistent.get(name)
        if minutes and persistent is not None:
            persistent.save(name, minutes, "reset", list(tags))
    for (context, name), value in out.variables.items():
        vtype = "slist" if isinstance(value, list) else "data" if isinstance(value, Data) else "string"
        ctx.set_var(f"default:{context}", name, value, vtype, out.tags.get((context, name), ()))


def apply_result(agent: AgentCore, p: Promise | None, rp: ResolvedPromise,
                 result: PromiseResult) -> None:
    outcome = result.outcome
    if outcome is _SKIPPED:
        return
    if agent.tallies:
        tally = agent.tallies[-1]
        if outcome is _KEPT:
            tally.kept += 1
        elif outcome is _REPAIRED:
            tally.repaired += 1
        else:
            tally.notkept += 1
    if rp.handle:
        agent.handles[rp.handle] = outcome
    for c in result.classes:
        agent.ctx.define(c, "namespace", ["source=promise"])
    for c in result.cancel_classes:
        agent.ctx.undefine(canonify(c))
    if result.module is not None:
        apply_module(agent, result.module)
    if result.variables:
        scope = result.variables_context or canonify(rp.promiser.split()[0].rsplit("/", 1)[-1])
        for name, value in result.variables.items():
            # "ctx.name": a dot inside an array index ("a[x.y]") is not a context
            ctx_name, dot, var = name.partition(".")
            if "[" in ctx_name:
                dot = ""
            target, var = (ctx_name, var) if dot else (scope, name)
            agent.ctx.set_var(f"default:{target}" if ":" not in target else target, var, value,
                              "slist" if isinstance(value, list) else "string")
    body = rp.body("classes")
    if body:
        apply_classes_body(agent, body, [outcome, *(o for o in result.also if o is not outcome)])


def apply_classes_body(agent: AgentCore, body: dict[str, Any], outcomes: list[Outcome]) -> None:
    """Define and cancel what a resolved ``classes`` body names for ``outcomes``."""
    scope = str(body.get("scope", "namespace"))
    # cf-agent announces the promotion unless the body itself asked for namespace
    announce = body.get("scope") != "namespace"
    persist = body.get("persist_time")
    minutes = int(persist) if isinstance(persist, str) and persist.isdigit() else 0
    if minutes > 0:
        scope = "namespace"
    policy = "preserve" if str(body.get("timer_policy", "reset")) == "absolute" else "reset"
    for lval in (lv for o in outcomes for lv in _DEFINE.get(o, ())):
        for name in _names(body.get(lval)):
            if minutes > 0 and agent.persistent is not None:
                if announce:
                    agent.log.info(f"Automatically promoting context scope for '{name}' to "
                                   "namespace visibility, due to persistence")
                agent.persistent.save(name, minutes, policy, [])
            agent.ctx.define(name, scope)
            agent.log.verbose(f"C: + promise outcome class '{name}'")
    # every outcome cancels its classes (a files promise both kept and repaired
    # cancels cancel_kept and cancel_repaired), as in cf-agent
    for lval in dict.fromkeys(lv for o in outcomes for lv in _CANCEL.get(o, ())):
        for name in _names(body.get(lval)):
            agent.ctx.undefine(name)
