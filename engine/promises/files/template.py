"""``edit_template``: mustache templates (``engine.eval.mustache``) and CFEngine's own template method.

mustache: the data is ``template_data`` when given, else ``datastate()`` (classes
under ``classes``, variables under ``vars.<bundle>.<name>``); a ``template_data`` that
holds no container fails the promise before anything is done (:func:`data_refused`).
The rendering replaces the whole file. A file that is not there is created once its
rendering worked, when ``create`` is not said (:func:`edit_absent`).

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
import os
import re

from engine.policy.ast import Pos
from engine.promises._acc import Acc
from engine.promises.base import ResolvedPromise, RunContext

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_GUARD = re.compile(r"^\s*\[%CFEngine\s+(.+?)::\s*%\]\s*$")
_BEGIN = re.compile(r"^\s*\[%CFEngine\s+BEGIN\s*%\]\s*$")
_END = re.compile(r"^\s*\[%CFEngine\s+END\s*%\]\s*$")
_REF = re.compile(r"\$\(([A-Za-z0-9_.:\[\]]+)\)|\$\{([A-Za-z0-9_.:\[\]]+)\}")


def template_text(path: str) -> str | None:
    """The template file's text; None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError:
        return None


def _container(v: Any) -> tuple[Any, str | None]:
    """What ``template_data`` holds: the container (None when there is none) and,
    for text that is not JSON, cf-agent's complaint about it. A list reference
    left as written (``@(undefined)``) is no container and no JSON either."""
    v = getattr(v, "value", v)  # engine.eval.values.Data
    if isinstance(v, (dict, list)):
        return v, None
    if isinstance(v, str) and not (v.startswith(("@(", "@{")) and v.endswith((")", "}"))):
        try:
            parsed = json.loads(v)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            return parsed, None
        return None, f"Error parsing JSON expression '{v}'"
    return None, None


def data_refused(promise: ResolvedPromise, run: RunContext, name: str, acc: Acc) -> bool:
    """``template_data`` given but no container (an undefined variable, text that
    is not JSON): cf-agent fails the promise before it creates or changes anything,
    and never falls back to ``datastate()``. ``name``: the promise's promiser."""
    if "template_data" not in promise.attrs:
        return False
    data, complaint = _container(promise.attrs["template_data"])
    if data is not None:
        return False
    if complaint:
        run.log.error(complaint)
    acc.fail(f"No template data for the promise '{name}'")
    return True


def mustache_source(promise: ResolvedPromise) -> tuple[str, str] | None:
    """The promise's mustache template as ``(method, template)``: the template file
    (``mustache``) or the text itself (``inline_mustache``); None for other methods."""
    method = promise.str_attr("template_method", "cfengine")
    if method == "mustache":
        tmpl = promise.attrs.get("edit_template")
        return (method, tmpl) if isinstance(tmpl, str) and tmpl else None
    if method == "inline_mustache" and "edit_template_string" in promise.attrs:
        return method, promise.str_attr("edit_template_string")
    return None


def render_mustache(promise: ResolvedPromise, run: RunContext, path: str, method: str,
                    acc: Acc) -> str | None:
    """The rendered text, or None after reporting why it could not be rendered.
    ``path``: the template file (``mustache``); the text comes from
    ``edit_template_string`` for ``inline_mustache``."""
    from engine.eval.mustache import MustacheError, render

    if method == "inline_mustache":
        text: str | None = promise.str_attr("edit_template_string")
        shown = text
    else:
        text = template_text(path)
        shown = path
        if text is None:
            acc.fail(f"Template file '{path}' could not be opened for reading")
            return None
    data, _ = _container(promise.attrs.get("template_data"))
    if data is None:  # no template_data (a refused one stopped the promise earlier)
        data = run.datastate()
    try:
        return render(text or "", data)
    except MustacheError as e:
        e.report(run.log)
        acc.fail(f"Error rendering mustache template '{shown}'")
        return None


def edit_absent(promise: ResolvedPromise, run: RunContext, path: str, acc: Acc,
                create: Callable[[], os.stat_result | None]
                ) -> tuple[os.stat_result | None, str | None]:
    """An edited file that is not there (``create`` did not make it), as cf-agent 3.21
    treats it: the file made by ``create`` (None when it is not made, after saying why
    where there is something to say) and the mustache rendering already made for it.

    With ``create`` absent, a template without ``edit_line`` creates the file: a
    mustache one only once it has rendered (under a dry run or warn it is only said
    to need rendering), a cfengine one once its template could be opened. With
    ``create => "false"`` the edit is not attempted and the promise is kept; an
    ``edit_line`` cannot open the file."""
    a = promise.attrs
    if "edit_line" not in a and "edit_template" not in a and mustache_source(promise) is None:
        return None, None  # nothing edits it
    if "create" in a:
        return None, None  # create => "false": nothing to edit, nothing to say
    if "edit_line" in a:
        acc.fail(f"File '{path}' was marked for editing but could not be opened")
        return None, None
    source = mustache_source(promise)
    if source is not None:
        method, tmpl = source
        rendered = render_mustache(promise, run, tmpl, method, acc)
        if rendered is None:
            return None, None
        if acc.warn_only:
            acc.should(f"update rendering of '{path}' from mustache template "
                       f"'{'inline' if method == 'inline_mustache' else tmpl}'")
            return None, None
        return create(), rendered
    cft = a.get("edit_template")
    if promise.str_attr("template_method", "cfengine") != "cfengine" or not isinstance(cft, str):
        acc.fail(f"File '{path}' was marked for editing but could not be opened")
        return None, None
    if template_text(cft) is None:
        acc.fail(f"Unable to open template file '{cft}' to make '{path}'")
        return None, None
    st = create()
    if st is None and acc.warn_only:
        acc.fail(f"Failed to create file '{path}' for rendering cfengine template '{cft}'")
    return st, None


def cfengine_template_promises(promise: ResolvedPromise, run: RunContext, path: str,
                               acc: Acc, target: str = "") -> list[ResolvedPromise] | None:
    """The ``insert_lines`` promises the cfengine template ``path`` makes for the file
    ``target``; None after saying why there are none."""
    text = template_text(path)
    if text is None:
        acc.fail(f"Unable to open template file '{path}' to make '{target or promise.promiser}'")
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
