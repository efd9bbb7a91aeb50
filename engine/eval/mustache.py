"""Mustache templates as cf-agent 3.21 renders them (``string_mustache``, ``edit_template``).

The renderer reads the template once, front to back, as cf-agent does, so what it
accepts, what it refuses and the first complaint it makes all match:

- tags: ``{{name}}`` (HTML-escaped), ``{{{name}}}`` / ``{{&name}}`` (raw),
  ``{{#name}}`` / ``{{^name}}`` ... ``{{/any}}`` (a close tag ends the innermost
  open section whatever name it carries), ``{{!comment}}``, ``{{=<% %>=}}``
  (delimiters of at most 10 characters; ``{`` still opens a raw tag with them);
  a tag with nothing in it prints the two delimiters. There are no partials:
  ``{{>x}}`` is a variable named ``>x``.
- CFEngine's extensions: ``{{%name}}`` prints a value as indented JSON,
  ``{{$name}}`` as one-line JSON; ``{{@}}`` is the key (or array position) of
  the element being iterated; ``-top-`` names the whole data.
- a name is looked up in the open sections' objects, innermost first; dotted
  parts walk objects only. A section over a list iterates it; over an object it
  iterates the values when ``{{@}}`` appears in its body before any nested
  section, and otherwise renders once with the object as context. A section
  over a string, number or null is refused.
- cf-agent's context stack is reproduced as it is: a list (or iterated object)
  stays on the stack after its section, so ``{{.}}`` and lookups after it still
  see it; delimiters set inside a section stay set after it, and a later
  iteration reads its body with them.
- reals print with two decimals, null prints as nothing, booleans as
  ``true``/``false``.

What cf-agent refuses raises :class:`MustacheError`, carrying the lines cf-agent
logs (``error`` or ``warning`` and the text) for the caller to log.
"""

from __future__ import annotations

from engine.eval.functions._util import json_compact, json_pretty

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any, NoReturn, Protocol

    class _Log(Protocol):
        def error(self, msg: str) -> None: ...
        def warning(self, msg: str) -> None: ...

# sections open at once beyond which the template is refused (cf-agent has no such
# limit; it keeps a hostile template from exhausting the interpreter's stack)
MAX_DEPTH = 100
# the longest delimiter ``{{=a b=}}`` may set, as in cf-agent
MAX_DELIMITER = 10


class MustacheError(ValueError):
    """The template cannot be rendered with this data; ``lines`` holds what cf-agent
    logs about it, ``(level, text)`` with level ``error`` or ``warning``, in order
    (possibly nothing: some refusals are silent)."""

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        super().__init__(lines[-1][1] if lines else "the template could not be rendered")
        self.lines = lines

    def report(self, log: _Log) -> None:
        """Log the lines, each at its level."""
        for level, text in self.lines:
            (log.error if level == "error" else log.warning)(text)


class _Failed(Exception):
    """Rendering stops (the reason is already in the renderer's notes)."""


_MISSING: Any = object()
# tags that may stand alone on a line, which then disappears with them
_STANDALONE = frozenset("#^/!=")
_SIGILS = frozenset("#^/!&%$")


class _Tag:
    __slots__ = ("kind", "begin", "end", "name", "at")

    def __init__(self, kind: str, begin: int, end: int, name: str, at: int) -> None:
        self.kind = kind  # "" variable, "&" raw, "%" "$" JSON, "#" "^" "/" "!" "=", "err"
        self.begin = begin  # where the opening delimiter starts
        self.end = end  # just after the closing delimiter
        self.name = name  # the content, blanks and tabs trimmed
        self.at = at  # where the trimmed content starts


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
    def __init__(self, text: str, data: Any) -> None:
        self.text = text
        self.stack: list[Any] = [data]
        self.otag, self.ctag = "{{", "}}"
        self.out: list[str] = []
        self.notes: list[tuple[str, str]] = []
        self.depth = 0

    def fail(self, level: str, text: str) -> NoReturn:
        self.notes.append((level, text))
        raise _Failed

    # ----- reading tags -------------------------------------------------------
    def next_tag(self, pos: int, otag: str, ctag: str) -> _Tag | None:
        """The first tag at or after ``pos``; a broken one has kind ``err`` (and is
        noted); None when no tag opens before the end."""
        text = self.text
        begin = text.find(otag, pos)
        if begin < 0:
            return None
        c = begin + len(otag)
        sigil = text[c:c + 1]
        kind, closer = "", ""
        if sigil == "=":
            kind, closer = "=", "="
        elif sigil == "{":
            kind, closer = "&", "}"
        elif sigil in _SIGILS:
            kind = sigil
        if kind:
            c += 1
        if closer:
            stop = text.find(closer, c)
            if stop < 0 or not text.startswith(ctag, stop + 1):
                self.notes.append(("error", "Broken mustache template, couldn't find end tag "
                                   f"for quoted begin tag at '{text[pos:]:>20}'..."))
                return _Tag("err", begin, begin, "", c)
            end = stop + 1 + len(ctag)
        else:
            stop = text.find(ctag, c)
            if stop < 0:
                self.notes.append(("error", "Broken Mustache template, could not find end "
                                   f"delimiter after reading start delimiter at '{text[pos:]:>20}'..."))
                return _Tag("err", begin, begin, "", c)
            end = stop + len(ctag)
        while c < stop and text[c] in " \t":
            c += 1
        while stop > c and text[stop - 1] in " \t":
            stop -= 1
        return _Tag(kind, begin, end, text[c:stop], c)

    def standalone(self, tag: _Tag) -> tuple[int, int] | None:
        """The line holding only this tag (and blanks): where it starts and where the
        next one starts; None when the tag shares its line with anything else."""
        text = self.text
        i = tag.begin - 1
        while i >= 0 and text[i] in " \t":
            i -= 1
        if i >= 0 and text[i] != "\n":
            return None
        j, n = tag.end, len(text)
        while j < n:
            ch = text[j]
            if ch == "\n":
                return i + 1, j + 1
            if ch == "\r" and text.startswith("\n", j + 1):
                return i + 1, j + 2
            if ch not in " \t\r":
                return None
            j += 1
        return i + 1, n

    def delimiters(self, tag: _Tag) -> tuple[str, str] | None:
        """The delimiters a ``{{=a b=}}`` tag sets; None (noted) when it is malformed.
        cf-agent quotes the template from the tag's content to its very end."""
        parts = tag.name.replace("\t", " ").split()
        rest = self.text[tag.at:]
        if len(parts) != 2:
            self.notes.append(("warning", "Could not parse delimiter mustache, number of "
                               f"tokens is {len(parts)}, expected 2 in '{rest}'"))
            return None
        for part in parts:
            if len(part) > MAX_DELIMITER:
                self.notes.append(("warning", "New mustache start delimiter exceeds the "
                                   f"allowed size of {MAX_DELIMITER} in '{rest}'"))
                return None
        return parts[0], parts[1]

    # ----- rendering ----------------------------------------------------------
    def render(self, pos: int, key: str | None, skip: bool, in_section: bool) -> int | None:
        """Render from ``pos`` (nothing is output when ``skip``) up to the close of the
        current section, whose end is returned, or to the end of the template (None)."""
        text, out = self.text, self.out
        while True:
            tag = self.next_tag(pos, self.otag, self.ctag)
            if tag is None:
                if not skip:
                    out.append(text[pos:])
                return None
            kind = tag.kind
            start, resume = tag.begin, tag.end
            if kind in _STANDALONE:
                line = self.standalone(tag)
                if line is not None:
                    start, resume = line
            if not skip and start > pos:
                out.append(text[pos:start])
            pos = resume
            if kind == "err":
                raise _Failed
            if kind == "!":
                continue
            if kind == "=":
                delims = self.delimiters(tag)
                if delims is None:
                    raise _Failed
                self.otag, self.ctag = delims
                continue
            if kind == "/":
                if not in_section:
                    self.fail("warning", f"Unknown section close in mustache template '{tag.name}'")
                self.stack.pop()
                return pos
            if kind in ("#", "^"):
                pos = self.section(tag, pos, skip)
                continue
            if not skip:
                self.variable(tag, key)

    def body(self, pos: int, key: str | None, skip: bool) -> int:
        end = self.render(pos, key, skip, True)
        if end is None:
            self.fail("error", "Unexpected end to Mustache template")
        return end

    def section(self, tag: _Tag, pos: int, skip: bool) -> int:
        """Render a section whose body starts at ``pos``; the position after its close."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail("error", f"Mustache sections nested more than {MAX_DEPTH} deep")
        inverted = tag.kind == "^"
        var = self.lookup(tag.name)
        self.stack.append(var)
        end = pos
        if var is _MISSING:
            end = self.body(pos, None, skip or not inverted)
        elif isinstance(var, bool):
            end = self.body(pos, None, skip or (not var) != inverted)
        elif isinstance(var, dict) and not self.iterates(pos):
            end = self.body(pos, None, skip or inverted)
        elif isinstance(var, (dict, list)):
            if not var:
                # cf-agent: an empty container's section shows when inverted, even
                # inside a section that is not shown
                end = self.body(pos, None, not inverted)
            else:
                items = var.items() if isinstance(var, dict) else enumerate(var)
                for k, child in items:
                    self.stack.append(child)
                    end = self.body(pos, str(k), skip or inverted)
        else:
            self.fail("warning", "Mustache sections can only take a boolean or a container "
                      f"(array or map) value, but section '{tag.name}' isn't getting one of those.")
        self.depth -= 1
        return end

    def iterates(self, pos: int) -> bool:
        """Whether a section over an object starting at ``pos`` iterates the object's
        values: it does when ``{{@}}`` (written exactly so, or ``{{&@}}``/``{{{@}}}``)
        comes before any nested section opens and before the section closes."""
        otag, ctag = self.otag, self.ctag
        text = self.text
        while True:
            tag = self.next_tag(pos, otag, ctag)
            if tag is None or tag.kind in ("err", "#", "/"):
                return False
            if tag.kind == "":
                if text.startswith(f"{otag}@{ctag}", tag.begin):
                    return True
            elif tag.kind == "&":
                if text.startswith(f"{otag}&@{ctag}", tag.begin) or (
                        otag == "{{" and ctag == "}}" and text.startswith("{{{@}}}", tag.begin)):
                    return True
            elif tag.kind == "=":
                delims = self.delimiters(tag)
                if delims is None:
                    return False
                otag, ctag = delims
            pos = tag.end

    def variable(self, tag: _Tag, key: str | None) -> None:
        name = tag.name
        if not name:
            self.out.append(self.otag + self.ctag)
            return
        item, key_mode = name == ".", name == "@"
        v = self.stack[-1] if item or key_mode else self.lookup(name)
        if key_mode and key is None:
            self.fail("warning", "RenderVariable: {{@}} Mustache tag must be used in a context "
                      "where there's a valid key or iteration position")
        if v is _MISSING:
            return
        if isinstance(v, (dict, list)) and not key_mode:
            if tag.kind == "%":
                self.out.append(json_pretty(v))
            elif tag.kind == "$":
                self.out.append(json_compact(v))
            elif item:
                self.fail("warning", "{{.}} mustache tag cannot expand a container without "
                          "specifying conversion - consider {{$.}} or {{%.}}")
            else:
                raise _Failed  # cf-agent refuses it without a word
            return
        s = key if key_mode and key is not None else _scalar(v)
        self.out.append(_escape(s) if tag.kind == "" else s)

    def lookup(self, name: str) -> Any:
        parts = [p for p in name.split(".") if p] or [""]
        first = parts[0]
        value: Any = self.stack[0] if first == "-top-" else _MISSING
        for ctx in reversed(self.stack):
            if isinstance(ctx, dict) and first in ctx:
                value = ctx[first]
                break
        for part in parts[1:]:
            if not isinstance(value, dict) or part not in value:
                return _MISSING
            value = value[part]
        return value


def render(template: str, data: Any) -> str:
    """``template`` rendered with ``data`` (any JSON value); MustacheError when
    cf-agent would refuse it."""
    r = _Renderer(template, data)
    try:
        r.render(0, None, False, False)
    except _Failed:
        raise MustacheError(r.notes) from None
    return "".join(r.out)
