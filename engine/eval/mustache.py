"""Mustache templates as CFEngine renders them (``string_mustache``, ``edit_template``).

The Mustache spec (variables, sections, inverted sections, comments, set
delimiters, standalone lines) plus CFEngine's extensions:

- ``{{%name}}`` prints a value as indented JSON, ``{{$name}}`` as one-line JSON;
- ``{{@}}`` is the key (or array position) of the element being iterated;
- ``-top-`` names the whole data;
- a section over an object iterates its values when its body uses ``{{@}}``, and
  otherwise renders once with the object as context (plain Mustache);
- reals print with two decimals, ``null`` prints as nothing, booleans as
  ``true``/``false``.

What cf-agent refuses (a container in ``{{name}}``, a section over a string,
number or null, ``{{@}}`` outside an iteration) raises :class:`MustacheError`;
the caller logs it as a warning and the rendering fails, as in cf-agent.
"""

from __future__ import annotations

from engine.eval.functions._util import json_compact, json_pretty

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

# the number of nested sections a template may open; deeper is refused
MAX_DEPTH = 100


class MustacheError(ValueError):
    """The template cannot be rendered with this data."""


class MustacheSyntaxError(MustacheError):
    """The template itself is malformed (an unclosed tag or section)."""


_MISSING: Any = object()
_STANDALONE = frozenset("#^/!=>")


class _Tag:
    __slots__ = ("kind", "name")

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind  # "" variable, "&" raw, "%" "$" JSON, "#" "^" "/" "!" "=" ">"
        self.name = name


def _tokens(text: str) -> list[str | _Tag]:
    """The template as literal strings and tags. A line holding nothing but one
    section, comment or delimiter tag (and blanks) disappears whole, as the spec's
    standalone rule says."""
    out: list[str | _Tag] = []
    otag, ctag = "{{", "}}"
    pos = 0
    n = len(text)
    while pos < n:
        i = text.find(otag, pos)
        if i < 0:
            out.append(text[pos:])
            break
        j = i + len(otag)
        kind = ""
        close = ctag
        if otag == "{{" and text.startswith("{", j):
            kind, j, close = "&", j + 1, "}" + ctag
        elif j < n and text[j] in "&%$#^/!=>":
            kind = text[j]
            j += 1
        if kind == "=":
            close = "=" + ctag
        k = text.find(close, j)
        if k < 0:
            raise MustacheSyntaxError(f"unclosed tag at offset {i}")
        body = text[j:k]
        end = k + len(close)
        lit_end = i
        if kind in _STANDALONE:
            line_start = text.rfind("\n", 0, i) + 1
            line_end = text.find("\n", end)
            line_end = n if line_end < 0 else line_end + 1
            if (line_start >= pos and not text[line_start:i].strip(" \t")
                    and not text[end:line_end].strip(" \t\r\n")):
                lit_end = line_start
                end = line_end
        if lit_end > pos:
            out.append(text[pos:lit_end])
        if kind == "=":
            parts = body.split()
            if len(parts) != 2:
                raise MustacheSyntaxError(f"bad delimiter change '{body}'")
            otag, ctag = parts
        out.append(_Tag(kind, body.strip()))
        pos = end
    return out


class _Section:
    __slots__ = ("kind", "name", "body")

    def __init__(self, kind: str, name: str, body: list[Any]) -> None:
        self.kind = kind
        self.name = name
        self.body = body


def _tree(tokens: list[str | _Tag]) -> list[Any]:
    """Nest the tokens: sections become :class:`_Section` with their bodies."""
    root: list[Any] = []
    stack: list[tuple[list[Any], _Tag | None]] = [(root, None)]
    for tok in tokens:
        cur = stack[-1][0]
        if isinstance(tok, str):
            cur.append(tok)
        elif tok.kind in ("#", "^"):
            if len(stack) > MAX_DEPTH:
                raise MustacheSyntaxError("sections nested too deeply")
            sec = _Section(tok.kind, tok.name, [])
            cur.append(sec)
            stack.append((sec.body, tok))
        elif tok.kind == "/":
            opener = stack[-1][1]
            if opener is None or opener.name != tok.name:
                raise MustacheSyntaxError(f"section close '{tok.name}' does not match its opening")
            stack.pop()
        elif tok.kind not in ("!", "=", ">"):
            cur.append(tok)
    if len(stack) > 1:
        raise MustacheSyntaxError(f"section '{stack[-1][1].name}' is not closed")  # type: ignore[union-attr]
    return root


def _uses_key(body: list[Any]) -> bool:
    for node in body:
        if isinstance(node, _Tag) and node.name == "@":
            return True
        if isinstance(node, _Section) and (node.name == "@" or _uses_key(node.body)):
            return True
    return False


def _scalar(v: Any) -> str:
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class _Renderer:
    def __init__(self, data: Any) -> None:
        self.stack: list[Any] = [data]
        self.keys: list[str | None] = [None]
        self.out: list[str] = []

    def lookup(self, name: str) -> Any:
        if name == ".":
            return self.stack[-1]
        if name == "@":
            key = self.keys[-1]
            if key is None:
                raise MustacheError("{{@}} used outside an iteration")
            return key
        parts = name.split(".")
        first = parts[0]
        value: Any = _MISSING
        if first == "-top-":
            value = self.stack[0]
        else:
            for ctx in reversed(self.stack):
                if isinstance(ctx, dict) and first in ctx:
                    value = ctx[first]
                    break
        for part in parts[1:]:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return _MISSING
        return value

    def render(self, nodes: list[Any]) -> None:
        out = self.out
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, _Section):
                self.section(node)
            else:
                self.variable(node)

    def variable(self, tag: _Tag) -> None:
        v = self.lookup(tag.name)
        if v is _MISSING:
            return
        if tag.kind == "%":
            self.out.append(json_pretty(v) if isinstance(v, (dict, list)) else _scalar(v))
        elif tag.kind == "$":
            self.out.append(json_compact(v) if isinstance(v, (dict, list)) else _scalar(v))
        elif isinstance(v, (dict, list)):
            raise MustacheError(f"{{{{{tag.name}}}}} cannot expand a container without "
                                "specifying conversion - consider {{$.}} or {{%.}}")
        else:
            s = _scalar(v)
            self.out.append(s if tag.kind == "&" else _escape(s))

    def section(self, sec: _Section) -> None:
        v = self.lookup(sec.name)
        if sec.kind == "^":
            if v is _MISSING or v is False or (isinstance(v, list) and not v):
                self.render(sec.body)
            elif not isinstance(v, (bool, dict, list)):
                raise MustacheError(self._not_container(sec.name))
            return
        if v is _MISSING or v is False:
            return
        if v is True:
            self.push(v, self.keys[-1], sec.body)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                self.push(item, str(i), sec.body)
        elif isinstance(v, dict):
            if _uses_key(sec.body):
                # the object stays visible under each value, so {{k}} still finds its keys
                self.stack.append(v)
                self.keys.append(self.keys[-1])
                try:
                    for k, item in v.items():
                        self.push(item, k, sec.body)
                finally:
                    self.stack.pop()
                    self.keys.pop()
            else:
                self.push(v, self.keys[-1], sec.body)
        else:
            raise MustacheError(self._not_container(sec.name))

    @staticmethod
    def _not_container(name: str) -> str:
        return ("Mustache sections can only take a boolean or a container (array or map) "
                f"value, but section '{name}' isn't getting one of those.")

    def push(self, value: Any, key: str | None, body: list[Any]) -> None:
        self.stack.append(value)
        self.keys.append(key)
        try:
            self.render(body)
        finally:
            self.stack.pop()
            self.keys.pop()


def render(template: str, data: Any) -> str:
    """``template`` rendered with ``data`` (any JSON value); MustacheError when
    cf-agent would refuse it."""
    r = _Renderer(data)
    r.render(_tree(_tokens(template)))
    return "".join(r.out)
