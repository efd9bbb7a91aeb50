"""``edit_template``: mustache templates (``engine.eval.mustache``) and CFEngine's own template method.

mustache: the data is ``template_data`` when given, else ``datastate()`` (classes
under ``classes``, variables under ``vars.<bundle>.<name>``). The rendering
replaces the whole file.

cfengine: each template line becomes an ``insert_lines`` promise;
``[%CFEngine <class expression>:: %]`` guards the lines after it and
``[%CFEngine BEGIN %]`` ... ``[%CFEngine END %]`` wraps a block inserted as one.
Every line and block is inserted as ``preserve_all_lines``, as cf-agent 3.21 does:
repeated and blank lines of the template are kept. ``$(bundle.var)`` references are expanded from
``datastate()``; a list reference repeats the line (or block) once per element.
"""

from __future__ import annotations

import itertools
import json
import re

from engine.policy.ast import Pos
from engine.promises._acc import Acc
from engine.promises.base import ResolvedPromise, RunContext

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

_GUARD = re.compile(r"^\s*\[%CFEngine\s+(.+?)::\s*%\]\s*$")
_BEGIN = re.compile(r"^\s*\[%CFEngine\s+BEGIN\s*%\]\s*$")
_END = re.compile(r"^\s*\[%CFEngine\s+END\s*%\]\s*$")
_REF = re.compile(r"\$\(([A-Za-z0-9_.:\[\]]+)\)|\$\{([A-Za-z0-9_.:\[\]]+)\}")


def _read(path: str, acc: Acc) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError:
        acc.fail(f"Template file '{path}' could not be opened for reading")
        return None


def render_mustache(promise: ResolvedPromise, run: RunContext, path: str, method: str,
                    acc: Acc) -> str | None:
    """The rendered text, or None after reporting why it could not be rendered."""
    from engine.eval.mustache import MustacheError, render

    if method == "inline_mustache":
        text: str | None = promise.str_attr("edit_template_string")
    else:
        text = _read(path, acc)
    if text is None:
        return None
    data = _template_data(promise.attrs.get("template_data"))
    if data is None:
        data = run.datastate()
    try:
        return render(text, data)
    except MustacheError as e:
        acc.fail(f"Could not render mustache template '{path or 'inline'}' ({e})")
        return None


def _template_data(v: Any) -> Any:
    if v is None:
        return None
    v = getattr(v, "value", v)  # engine.eval.values.Data
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return None
    return v


def cfengine_template_promises(promise: ResolvedPromise, run: RunContext, path: str,
                               acc: Acc) -> list[ResolvedPromise] | None:
    text = _read(path, acc)
    if text is None:
        return None
    variables = run.datastate().get("vars", {})
    out: list[ResolvedPromise] = []
    guard = "any"
    block: list[str] | None = None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines, 1):
        if block is not None:
            if _END.match(line):
                if run.class_defined(guard):
                    for body in _expand_block(block, variables, promise.bundle):
                        out.append(_insert(promise, body, "preserve_all_lines", path, n))
                block = None
            else:
                block.append(line)
            continue
        if _BEGIN.match(line):
            block = []
            continue
        m = _GUARD.match(line)
        if m:
            guard = m.group(1).strip()
            continue
        if not run.class_defined(guard):
            continue
        for body in _expand_block([line], variables, promise.bundle):
            out.append(_insert(promise, body, "preserve_all_lines", path, n))
    return out


def _insert(promise: ResolvedPromise, text: str, itype: str, path: str,
            line: int) -> ResolvedPromise:
    return ResolvedPromise(
        promise_type="insert_lines", promiser=text, attrs={"insert_type": itype},
        bundle=promise.bundle, namespace=promise.namespace, pos=Pos(path, line, 1))


def _expand_block(lines: list[str], variables: dict[str, Any], bundle: str) -> list[str]:
    """Expand references; lists make one copy of the whole block per element."""
    text = "\n".join(lines)
    refs = {m.group(1) or m.group(2) for m in _REF.finditer(text)}
    lists = {r: v for r in refs if isinstance(v := _lookup(r, variables, bundle), list)}
    names = sorted(lists)
    out: list[str] = []
    for combo in itertools.product(*(lists[n] for n in names)) if names else [()]:
        binding = dict(zip(names, combo, strict=True))

        def sub(m: re.Match[str], binding: dict[str, Any] = binding) -> str:
            ref = m.group(1) or m.group(2)
            if ref in binding:
                return str(binding[ref])
            v = _lookup(ref, variables, bundle)
            if v is None or isinstance(v, (list, dict)):
                return m.group(0)
            return str(v)

        out.append(_REF.sub(sub, text))
    return out


def _lookup(ref: str, variables: dict[str, Any], bundle: str) -> Any:
    ref = ref.split(":", 1)[-1]
    scope, _, name = ref.rpartition(".")
    table = variables.get(scope or bundle)
    if not isinstance(table, dict):
        return None
    v = table.get(name)
    return getattr(v, "value", v)
