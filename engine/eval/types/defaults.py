"""``defaults:`` — a value for a variable of the bundle (often a parameter) that is
undefined, or whose value matches ``if_match_regex``.

``"name" string => "value";`` or ``slist => { ... }``, evaluated in the normal order
after ``vars``, as cf-agent does.
"""

from __future__ import annotations

from engine import cfregex
from engine.eval.resolve import FunctionFailed, Unresolved

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.eval.types import Binder
    from engine.policy.ast import Promise


def evaluate_defaults(agent: Binder, p: Promise, name: str) -> None:
    frame = agent.ctx.frame
    if frame is None:
        return
    for c in p.constraints:
        if c.lval not in ("string", "slist"):
            continue
        current = agent.ctx.lookup(f"{frame.scope}.{name}") if ":" in frame.scope else None
        if current is None:
            current = agent.lookup(name)
        if current is not None and not _matches(agent, p, current):
            return
        try:
            value = agent.resolver.value(c.rval, agent.lookup, c.lval)
        except (Unresolved, FunctionFailed):
            return
        if c.lval == "slist" and isinstance(value, str):
            value = [value]
        agent.ctx.set_var(frame.scope, name, value, c.lval, ("source=promise",))
        return


def _matches(agent: Binder, p: Promise, current: object) -> bool:
    """Whether a defined variable still gets the default: its value matches
    ``if_match_regex`` (a list when any item does)."""
    rval = p.get("if_match_regex")
    if rval is None:
        return False
    try:
        regex = agent.resolver.value(rval, agent.lookup, "if_match_regex")
    except (Unresolved, FunctionFailed):
        return False
    values = current if isinstance(current, list) else [current]
    try:
        return any(cfregex.full_match(str(regex), str(v)) for v in values)
    except cfregex.RegexError:
        return False
