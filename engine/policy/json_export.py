"""A parsed file as JSON, shaped like ``cf-promises -p json`` (CFEngine 3.21).

Shape: ``{"bodies": [...], "bundles": [...]}``. A bundle lists its promise types (the
sections of one type merged, in order of first appearance, with the line of the last
``type:`` header); each type lists contexts (runs of promises under the same class
guard). A body lists contexts the same way, always starting with ``any``. Values are
``{"type": "string"|"symbol"|"list"|"functionCall", ...}``; top-level unquoted names are
``symbol``. cf-promises prints decoded strings with ``"`` and ``'`` backslashed again,
and so do we. A guard written as a quoted string (``"$(x)"::``) appears, as there, as
context ``any`` plus an ``ifvarclass`` attribute on line 0.
"""

from __future__ import annotations

import json
from typing import Any

from engine.policy.ast import Body, Bundle, FnCall, PolicyFile, Promise, RList, Rval, Scalar

JSON = dict[str, Any]


def _escape(s: str) -> str:
    return s.replace('"', '\\"').replace("'", "\\'")


def rval_json(rv: Rval, top: bool = True) -> JSON:
    if isinstance(rv, Scalar):
        if rv.quoted:
            return {"type": "string", "value": _escape(rv.value)}
        symbol = top and (rv.value[:1].isalpha() or rv.value[:1] == "_")
        return {"type": "symbol" if symbol else "string", "value": rv.value}
    if isinstance(rv, RList):
        return {"type": "list", "value": [rval_json(i, False) for i in rv.items]}
    return {
        "arguments": [rval_json(a, False) for a in rv.args],
        "name": rv.name,
        "type": "functionCall",
    }


def _end_line(rv: Rval, line: int) -> int:
    """The last line an rval reaches, which is the line cf-promises gives a constraint
    (a list closed on a later line than its last item is not seen)."""
    line = max(line, rv.pos.line)
    if isinstance(rv, RList):
        for i in rv.items:
            line = _end_line(i, line)
    elif isinstance(rv, FnCall):
        for a in rv.args:
            line = _end_line(a, line)
    return line


def _guard_is_variable(guard: str) -> bool:
    return "$(" in guard or "${" in guard


def _promise_json(p: Promise) -> JSON:
    attrs: list[JSON] = []
    if _guard_is_variable(p.guard):
        attrs.append(
            {"line": 0, "lval": "ifvarclass", "rval": {"type": "symbol", "value": p.guard}}
        )
    attrs.extend(
        {"line": _end_line(c.rval, c.pos.line), "lval": c.lval, "rval": rval_json(c.rval)}
        for c in p.constraints
    )
    out: JSON = {"attributes": attrs, "line": p.promiser_pos.line}
    if p.promisee is not None:
        pe = p.promisee
        if isinstance(pe, RList):
            out["promisee"] = [
                i.value if isinstance(i, Scalar) else rval_json(i, False) for i in pe.items
            ]
        elif isinstance(pe, Scalar):
            out["promisee"] = pe.value
        else:
            out["promisee"] = rval_json(pe, False)
    out["promiser"] = p.promiser
    return out


def bundle_json(b: Bundle, path: str) -> JSON:
    order: list[str] = []
    header_line: dict[str, int] = {}
    for ptype, pos in b.sections:
        if ptype not in header_line:
            order.append(ptype)
        header_line[ptype] = pos.line
    by_type: dict[str, list[Promise]] = {t: [] for t in order}
    for p in b.promises:
        if p.promise_type not in by_type:
            order.append(p.promise_type)
            by_type[p.promise_type] = []
            header_line[p.promise_type] = p.promiser_pos.line
        by_type[p.promise_type].append(p)
    types: list[JSON] = []
    for ptype in order:
        contexts: list[JSON] = []
        for p in by_type[ptype]:
            name = "any" if _guard_is_variable(p.guard) else p.guard
            if not contexts or contexts[-1]["name"] != name:
                contexts.append({"name": name, "promises": []})
            contexts[-1]["promises"].append(_promise_json(p))
        types.append({"contexts": contexts, "line": header_line[ptype], "name": ptype})
    return {
        "arguments": list(b.args),
        "bundleType": b.bundle_type,
        "line": b.pos.line,
        "name": b.name,
        "namespace": b.namespace,
        "promiseTypes": types,
        "sourcePath": path,
    }


def body_json(body: Body, path: str) -> JSON:
    contexts: list[JSON] = [{"attributes": [], "name": "any"}]
    for c in body.constraints:
        name = "any" if _guard_is_variable(c.guard) else c.guard
        if contexts[-1]["name"] != name:
            contexts.append({"attributes": [], "name": name})
        attr = {"line": _end_line(c.rval, c.pos.line), "lval": c.lval, "rval": rval_json(c.rval)}
        attrs = contexts[-1]["attributes"]
        # A repeated attribute in one context replaces the earlier one, in place.
        same = [i for i, a in enumerate(attrs) if a["lval"] == c.lval]
        if same:
            attrs[same[0]] = attr
        else:
            attrs.append(attr)
    return {
        "arguments": list(body.args),
        "bodyType": body.body_type,
        "contexts": contexts,
        "line": body.pos.line,
        "name": body.name,
        "namespace": body.namespace,
        "sourcePath": path,
    }


def policy_file_json(pf: PolicyFile) -> JSON:
    """One file as ``cf-promises -p json -f FILE`` prints it."""
    return {
        "bodies": [body_json(b, pf.path) for b in pf.bodies],
        "bundles": [bundle_json(b, pf.path) for b in pf.bundles],
    }


def dumps(pf: PolicyFile) -> str:
    return json.dumps(policy_file_json(pf), indent=2, sort_keys=True, ensure_ascii=False)
