"""``vars:`` — define string, int, real, list and data variables in the bundle's scope.

Re-evaluated on every pass, so a later definition replaces an earlier one, as in
cf-agent. A value whose references do not resolve is stored as written (cf-agent
does the same); a function that cannot run yet leaves the variable undefined.
"""

from __future__ import annotations

import json

from engine.eval import expand as ex
from engine.eval.functions import _jsonref as jsonref
from engine.eval.functions._util import cf_int, cf_real
from engine.eval.outcomes import apply_classes_body
from engine.eval.resolve import FunctionFailed, Unresolved
from engine.eval.values import LIST_TYPES, Data
from engine.policy.ast import FnCall, Promise, RList, Scalar
from engine.promises.base import Outcome

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from engine.eval.types import Binder

VAR_TYPES = ("string", "int", "real", "slist", "ilist", "rlist", "data")


def evaluate_vars(agent: Binder, p: Promise, name: str, last: bool) -> None:
    # the first constraint naming a type (a plain loop: this runs for every vars
    # promise in every pass), and its value
    for c in p.constraints:
        if c.lval in VAR_TYPES:
            vtype, rval = c.lval, c.rval
            break
    else:
        return
    frame = agent.ctx.frame
    scope = frame.scope if frame else "default:main"
    try:
        value = _value(agent, vtype, rval)
    except Unresolved:
        return
    except FunctionFailed as e:
        # evaluated again on the next pass (its error is reported on the last one)
        agent.ctx.revision += 1
        if last:
            report = agent.log.verbose if e.quiet else agent.log.error
            report(f"{e} (in vars promise '{name}' at {p.pos})")
        return
    if value is None:
        return
    if type(value) is str:
        if "$" in value:
            value = ex.expand(value, agent.lookup)[0]
    elif type(value) is list:
        value = _expand_items(agent, value)
        if isinstance(rval, RList):  # and the items of a list written out once more again
            value = _expand_items(agent, value)
    if "$" in name:
        name, ok = ex.expand(name, agent.lookup)
    if isinstance(value, list) and isinstance(rval, RList) and _policy(p) == "ifdefined":
        value = _defined_only(agent, rval, value)
    if vtype == "real" and isinstance(value, str):
        value = _real(value)
    elif vtype == "int" and isinstance(value, str):
        value = _int(value)
    if "." in name.partition("[")[0]:
        # "b.x" is the variable x of scope b, as cf-agent defines it (a dot in an array
        # index is not a scope's), unless b is another bundle: that is refused
        where = _qualified_scope(agent, name, scope, p, last)
        if where is None:
            return
        scope, name = where
    tags, comment = _annotations(agent, p)
    agent.ctx.set_var(scope, name, value, vtype, tags, comment)
    classes = p.get("classes")
    if classes is not None:
        _kept_classes(agent, classes)


def _qualified_scope(agent: Binder, name: str, scope: str, p: Promise,
                     last: bool) -> tuple[str, str] | None:
    """Where a vars promise named ``b.x`` defines ``x``: in its own bundle (``b`` that
    bundle), in a scope ``b`` no bundle has; another bundle's variable may not be set
    from here (None, after cf-agent's errors)."""
    target, var = agent.ctx.scope_for(name)
    ns, _, bundle = target.rpartition(":")
    if not ns:  # sys, const, this...: the name stays as written
        return scope, name
    if target == scope or agent.policy.find_bundle(bundle, ns) is None:
        return target, var
    if last:
        agent.log.error("Remote bundle variable injection detected!")
        agent.log.error(f"Variable identifier '{name}' is not legal")
        frame = agent.ctx.frame
        agent.log.error(f"Promise belongs to bundle '{frame.bundle if frame else ''}' in "
                        f"file '{p.pos.file}' near line {p.pos.line}")
    return None


def _kept_classes(agent: Binder, rval: Any) -> None:
    """A vars promise that defined its variable is kept: its ``classes`` body's
    kept classes are defined (cf-agent does; a failed function defines none)."""
    try:
        body = agent.resolver.value(rval, agent.lookup, "classes")
    except (Unresolved, FunctionFailed):
        return
    if isinstance(body, dict):
        apply_classes_body(agent, body, [Outcome.KEPT])


def _expand_items(agent: Binder, value: list[str]) -> list[str]:
    """cf-agent expands a vars promise's value once more: a reference the first
    expansion made (``$(const.dollar)(x)``, a function's output, an augments value
    holding one) is resolved too. Only strings and list items are; a data
    container's strings are not."""
    for i, item in enumerate(value):
        if "$" in item:
            lookup = agent.lookup
            return value[:i] + [ex.expand(x, lookup)[0] if "$" in x else x for x in value[i:]]
    return value


def _policy(p: Promise) -> str:
    rval = p.get("policy")
    return rval.value if isinstance(rval, Scalar) else ""


def _defined_only(agent: Binder, rval: RList, value: list[str]) -> list[str]:
    """``policy => "ifdefined"``: a list element naming an undefined list (``@(x)``)
    is left out instead of kept as written."""
    unresolved = set()
    for item in rval.items:
        if isinstance(item, Scalar):
            whole = ex.whole_list_ref(item.value)
            if whole is not None and ex.list_value(agent.lookup(whole)) is None:
                unresolved.add(item.value)
    return [v for v in value if v not in unresolved] if unresolved else value


def _real(text: str) -> str:
    """cf-agent stores reals printed with six decimals (``3.25`` -> ``3.250000``,
    ``1k`` -> ``1000.000000``)."""
    x = cf_real(text)
    return text if x is None else f"{x:.6f}"


def _int(text: str) -> str:
    """cf-agent stores ints as parsed: ``0600`` -> ``600``, ``1k`` -> ``1000``,
    ``10%`` -> ``-10``, ``inf`` -> ``999999999``."""
    n = cf_int(text)
    return text if n is None else str(n)


def _annotations(agent: Binder, p: Promise) -> tuple[tuple[str, ...], str]:
    """The variable's meta tags (``source=promise`` first, as cf-agent lists them)
    and its promise's ``comment``, for ``--show-evaluated-vars`` and the tag functions."""
    tags: tuple[str, ...] = ("source=promise",)
    meta = p.get("meta")
    if meta is not None:
        try:
            mv = agent.resolver.value(meta, agent.lookup, "meta")
        except (Unresolved, FunctionFailed):
            mv = []
        tags += tuple(mv) if isinstance(mv, list) else (str(mv),)
    comment = p.get("comment")
    text = ""
    if isinstance(comment, Scalar):
        text, _ = ex.expand(comment.value, agent.lookup)
    return tags, text


def _value(agent: Binder, vtype: str, rval: Any) -> Any:
    lookup = agent.lookup
    resolver = agent.resolver
    if vtype in LIST_TYPES:
        if isinstance(rval, RList):
            return resolver.list_items(rval, lookup)
        if isinstance(rval, FnCall):
            v = resolver.call(rval, lookup)
            if isinstance(v, Data):
                return ex.list_value(v) or []
            if isinstance(v, str):
                return [v]
            return v
        whole = ex.whole_list_ref(rval.value)
        if whole is not None:
            v = ex.list_value(lookup(resolver.scalar(whole, lookup)))
            if v is None:
                raise Unresolved(rval.value)
            return v
        text, _ = ex.expand(rval.value, lookup)
        return [text]
    if vtype == "data":
        if isinstance(rval, FnCall):
            v = resolver.call(rval, lookup)
            if isinstance(v, Data):
                return v
            if isinstance(v, list):
                return Data(v)
            return Data(json.loads(v)) if isinstance(v, str) else None
        if isinstance(rval, Scalar):
            whole = ex.whole_list_ref(rval.value)
            if whole is not None:
                v = lookup(whole)
                if isinstance(v, Data):
                    return v
                if isinstance(v, list):
                    return Data(v)
                raise Unresolved(rval.value)
            text, ok = ex.expand(rval.value, lookup)
            if not ok:
                raise Unresolved(text)
            if text.startswith("---"):  # a YAML literal
                from engine.eval.functions.registry import FunctionError
                from engine.eval.functions.yaml_fns import parse_yaml

                try:
                    return Data(parse_yaml(text))
                except FunctionError as e:
                    raise FunctionFailed(str(e)) from e
            try:
                return Data(jsonref.parse(text, lookup))
            except ValueError as e:
                raise FunctionFailed(f"data value is not valid JSON: {e}") from e
        return Data(resolver.list_items(rval, lookup))
    # scalars
    if isinstance(rval, FnCall):
        v = resolver.call(rval, lookup)
        if isinstance(v, bool):
            return "any" if v else "!any"
        if isinstance(v, (list, Data)):
            raise FunctionFailed(f"function '{rval.name}' returns a list, not a {vtype}")
        return str(v)
    if isinstance(rval, RList):
        raise FunctionFailed(f"a list cannot be assigned to a {vtype} variable")
    text, _ = ex.expand(rval.value, lookup)
    return text


def evaluate_meta(agent: Binder, p: Promise, name: str) -> None:
    """``meta:`` promises: bundle tags (``tags``) are kept for bundlesmatching."""
    frame = agent.ctx.frame
    if frame is None:
        return
    for c in p.constraints:
        if c.lval == "data":  # bundle meta data, read as $(bundle_meta.name[key])
            try:
                data = _value(agent, "data", c.rval)
            except (Unresolved, FunctionFailed):
                return
            if data is not None:
                agent.ctx.set_var(f"{frame.scope}_meta", name, data, "data")
        elif c.lval in ("slist", "string"):
            try:
                value = agent.resolver.value(c.rval, agent.lookup, c.lval)
            except (Unresolved, FunctionFailed):
                return
            agent.ctx.set_var(f"{frame.scope}_meta", name, value, c.lval)
            if name == "tags":
                agent.ctx.bundle_meta[frame.scope] = value if isinstance(value, list) else [value]
