"""``classes:`` — define classes from expressions, combinations and selections.

Attributes: ``expression``, ``and``, ``or``, ``xor``, ``not``, ``select_class``
(one class of a list, chosen stably from the host name), ``dist`` (one class at
random, weighted), ``scope`` (``bundle`` by default in agent bundles,
``namespace`` in common bundles), ``persistence`` (minutes; stored in
``cf_state.lmdb`` with tags ``source=promise`` plus ``meta``). A promise with none
of the deciding attributes defines its class whenever its guard holds.
"""

from __future__ import annotations

import zlib

from engine.eval.expand import expand
from engine.eval.resolve import FunctionFailed, Unresolved
from engine.policy.ast import FnCall, Promise, RList, Scalar
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from engine.eval.types import Binder

DECIDING = ("expression", "and", "or", "xor", "not", "select_class", "dist")


def _truth(agent: Binder, rval: Any) -> bool | None:
    if isinstance(rval, FnCall):
        v = agent.resolver.call(rval, agent.lookup)
        if isinstance(v, bool):
            return v
        return agent.ctx.class_defined(str(v))
    if isinstance(rval, Scalar):
        text, ok = expand(rval.value, agent.lookup)
        if not ok:
            return None
        return agent.ctx.class_defined(text)
    return None


def _items(agent: Binder, rval: Any, lval: str) -> list[bool | None]:
    if isinstance(rval, RList):
        out: list[bool | None] = []
        for item in rval.items:
            if isinstance(item, Scalar) and item.value.startswith("@("):
                for v in agent.resolver.list_items(RList((item,), item.pos), agent.lookup):
                    out.append(agent.ctx.class_defined(v))
            else:
                # an item that does not resolve (yet) counts as false, as in cf-agent:
                # or => { "any", classify("$(undefined)") } holds
                try:
                    truth = _truth(agent, item)
                except Unresolved:
                    truth = None
                out.append(bool(truth))
        return out
    if isinstance(rval, FnCall):
        v = agent.resolver.call(rval, agent.lookup)
        if isinstance(v, list):
            return [agent.ctx.class_defined(x) for x in v]
        # a class function (``and => userexists("root")``) gives one class, not a
        # list: cf-agent stops the run there
        from engine.eval.fatal import FatalPolicyError

        shown = ("any" if v else "!any") if isinstance(v, bool) else str(v)
        raise FatalPolicyError(
            f"In attribute '{lval}', Attempted to give a scalar to a non-scalar type. "
            f"Given attribute value '{shown}'"
        )
    return [_truth(agent, rval)]


def decide(agent: Binder, p: Promise, name: str) -> tuple[bool | None, list[str]]:
    """(whether to define, extra classes); None when it cannot be decided yet."""
    for lval in DECIDING:
        rval = p.get(lval)
        if rval is None:
            continue
        if lval == "expression":
            return _truth(agent, rval), []
        if lval == "not":
            v = _truth(agent, rval)
            return (None if v is None else not v), []
        if lval in ("and", "or", "xor"):
            values = _items(agent, rval, lval)
            if any(v is None for v in values):
                return None, []
            if lval == "and":
                return all(values), []
            if lval == "or":
                return any(values), []
            return sum(1 for v in values if v) % 2 == 1, []
        if lval in ("select_class", "dist") and agent.ctx.is_defined(name):
            return None, []  # chosen once per run
        if lval == "select_class":
            # the promiser is defined too (so an iterated promise chooses once); the
            # chosen class is global (see evaluate_classes)
            options = agent.resolver.value(rval, agent.lookup, lval)
            options = options if isinstance(options, list) else [options]
            if not options:
                raise FunctionFailed("No classes to select on RHS")
            pick = zlib.crc32(agent.host.encode()) % len(options)
            return True, [options[pick]]
        if lval == "dist":
            weights = agent.resolver.value(rval, agent.lookup, lval)
            weights = [float(w) for w in (weights if isinstance(weights, list) else [weights])]
            total = sum(weights)
            if total <= 0:
                return False, []
            import random  # only dist classes need it; random costs an import

            r = random.uniform(0, total)
            acc = 0.0
            for i, w in enumerate(weights):
                acc += w
                if r <= acc:
                    return True, [f"{name}_{i}"]
            return True, [f"{name}_{len(weights) - 1}"]
    return True, []


def evaluate_classes(agent: Binder, p: Promise, promiser: str, last: bool) -> None:
    name = canonify(promiser)
    try:
        holds, extra = decide(agent, p, name)
    except (Unresolved, FunctionFailed) as e:
        if last and isinstance(e, FunctionFailed):
            report = agent.log.verbose if e.quiet else agent.log.error
            report(f"{e} (in classes promise '{promiser}' at {p.pos})")
        return
    if holds is None:
        return
    frame = agent.ctx.frame
    default_scope = "namespace" if frame is None or frame.bundle_type == "common" else "bundle"
    scope_rval = p.get("scope")
    scope = scope_rval.value if isinstance(scope_rval, Scalar) else default_scope
    targets = ([name] if holds else []) + [canonify(e) for e in extra]
    if not targets:
        return
    meta = []
    meta_rval = p.get("meta")
    if meta_rval is not None:
        try:
            mv = agent.resolver.value(meta_rval, agent.lookup, "meta")
            meta = mv if isinstance(mv, list) else [mv]
        except (Unresolved, FunctionFailed):
            meta = []
    persistence = p.get("persistence")
    chosen = holds and extra and p.get("select_class") is not None
    for target in targets:
        if agent.ctx.is_defined(target):
            continue
        # select_class's choice is a global class, whatever the promise's scope
        target_global = chosen and target != name
        if persistence is not None and agent.persistent is not None:
            minutes = agent.resolver.scalar(persistence.value, agent.lookup) if isinstance(persistence, Scalar) else "0"
            try:
                n = int(minutes)
            except ValueError:
                n = 0
            if n > 0:
                agent.persistent.save(target, n, "reset", ["source=promise", *meta])
                scope = "namespace"
        agent.ctx.define(target, "namespace" if target_global else scope,
                         ["source=promise", *meta])
        comment = p.get("comment")
        if isinstance(comment, Scalar):
            text = agent.ctx.class_comments[target] = expand(comment.value, agent.lookup)[0]
            agent.log.verbose(f"Added class '{target}' with comment '{text}'")
        agent.log.verbose(f"C: + {'Global' if scope == 'namespace' else 'Bundle'} class: {target}")
