"""What cf-agent resolves before the bundlesequence, after the common bundles.

cf-agent's policy resolution, once common bundles have run, evaluates the ``vars``
of every other bundle once, with no arguments (so ``$(bundle.var)`` of a bundle never
called is still defined, as masterfiles' inventory expects), and then sets the
``control_<type>.<attribute>`` variables from the control bodies
(``$(control_agent.ifelapsed)``, ``@(control_common.bundlesequence)``).

A ``vars`` promise that mentions a parameter of its bundle cannot be resolved without
arguments. cf-agent still defines plain values, references left as written
(``"$(service)"``), but does not call functions on them; nor on variables derived from
them. So we skip exactly the promises with a function call that mention a parameter or
such a derived variable.
"""

from __future__ import annotations

from engine.eval.agent import Tally
from engine.eval.context import Frame
from engine.eval.resolve import FunctionFailed, Unresolved
from engine.policy.ast import FnCall, RList, Scalar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from engine.eval.agent import Agent
    from engine.policy.ast import Bundle, Promise


def _strings(rval: Any) -> Iterator[str]:
    if isinstance(rval, Scalar):
        yield rval.value
    elif isinstance(rval, RList):
        for item in rval.items:
            yield from _strings(item)
    elif isinstance(rval, FnCall):
        yield rval.name
        for arg in rval.args:
            yield from _strings(arg)
    elif isinstance(rval, str):
        yield rval


def _texts(p: Promise) -> list[str]:
    texts = [p.promiser] if isinstance(p.promiser, str) else list(_strings(p.promiser))
    for c in p.constraints:
        texts.extend(_strings(c.rval))
    texts.append(p.guard or "")
    return texts


def _has_call(p: Promise) -> bool:
    return any(isinstance(c.rval, FnCall) or (isinstance(c.rval, RList) and any(
        isinstance(i, FnCall) for i in c.rval.items)) for c in p.constraints)


_REF_END = ")}[."


def _mentions(text: str, names: set[str]) -> bool:
    """Whether ``text`` references one of ``names`` (``$(n)``, ``${n}``, ``@(n)``,
    ``$(n[k])``, ``$(n.x)``...) or is one of them alone (a trailing newline allowed,
    as a regex ``^n$`` would). Scanned rather than matched with an alternation
    regex: the set grows promise by promise, and compiling a new pattern each time
    cost more than the scan."""
    if text in names or (text.endswith("\n") and text[:-1] in names):
        return True
    if "(" not in text and "{" not in text:
        return False
    n = len(text)
    longest = max(map(len, names), default=0)
    for i in range(n - 2):
        if text[i] not in "$@" or text[i + 1] not in "({":
            continue
        start = i + 2
        for j in range(start, min(n, start + longest + 1)):
            if text[j] in _REF_END and text[start:j] in names:
                return True
    return False


def _without_arguments(bundle: Bundle, promises: list[Promise]) -> list[Promise]:
    """The promises cf-agent evaluates with no arguments: all but those calling a function
    on a parameter or on a variable derived from one (referenced, or named bare)."""
    tainted = set(bundle.args)
    kept: list[Promise] = []
    for p in promises:
        if any(_mentions(t, tainted) for t in _texts(p)):
            if isinstance(p.promiser, str):
                tainted.add(p.promiser.split("[", 1)[0])
            if _has_call(p):
                continue
        kept.append(p)
    return kept


def pre_evaluate_vars(agent: Agent, bundles: list[Bundle]) -> None:
    """Evaluate the ``meta`` and ``vars`` of each non-common bundle once, in its own
    frame, no arguments."""
    for bundle in bundles:
        if bundle.bundle_type == "common":
            continue
        # meta promises too, first, as cf-agent: a bundle's test_meta.* variables are
        # there before it runs (variablesmatching finds them, as the suite's skips need)
        promises = [p for p in bundle.promises if p.promise_type == "meta"]
        promises += [p for p in bundle.promises if p.promise_type == "vars"]
        if not promises:
            continue
        if bundle.args:
            promises = _without_arguments(bundle, promises)
            if not promises:
                continue
        from engine.eval.agent import bundle_display_name

        frame = Frame(bundle.namespace, bundle_display_name(bundle), bundle.bundle_type, None)
        agent.ctx.push(frame)
        agent.tallies.append(Tally())
        evaluate = agent.runner.evaluate_promise
        try:
            for p in promises:
                evaluate(agent, p, True)
        finally:
            agent.tallies.pop()
            agent.ctx.pop()


def resolve_control_bodies(agent: Agent) -> None:
    """``control_<type>.<lval>`` for each attribute of each control body whose guard holds."""
    for body in [b for f in agent.policy.files for b in f.bodies if b.name == "control"]:
        scope = f"default:control_{body.body_type}"
        for c in body.constraints:
            if c.guard != "any" and not agent.ctx.class_defined(c.guard):
                continue
            try:
                value = agent.resolver.value(c.rval, agent.lookup, c.lval)
            except (Unresolved, FunctionFailed):
                continue
            if isinstance(value, list):
                agent.ctx.set_var(scope, c.lval, value, "slist", ("source=promise",))
            elif isinstance(value, str):
                agent.ctx.set_var(scope, c.lval, value, "string", ("source=promise",))
