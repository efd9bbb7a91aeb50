"""CFEngine's relaxed JSON for inline data: ``'[ foo, test.list, { key: var[x] } ]'``.

Where policy writes JSON inline (a ``data`` variable's literal, or an argument of a
data function), cf-agent accepts more than JSON:

- a bare word as an object key is the key itself (``{ foo: 1 }``);
- a bare word as a value is a variable reference, replaced by the variable's value
  (a string, a list as an array, a data container as itself); ``var[k]`` indexes;
- a trailing comma before ``]`` or ``}`` is accepted, and so is a missing comma
  between two elements (``["a" "b"]``); two commas in a row are not;
- the ``:`` after a quoted key may be left out (``{"a" "x"}``), not a second one;
- text after the first complete value is ignored.

A reference to an undefined variable makes the whole text invalid. Integers are
kept in 32 bits, as cf-agent's parser keeps them in a C int.
"""

from __future__ import annotations

import json
import re

from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# how deep arrays and objects may nest before the text is refused
MAX_DEPTH = 1000

_WS = re.compile(r"[ \t\r\n]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
# a value: [bundle.]name[key]... (no namespace: a ':' reads as JSON, as in cf-agent)
_BARE = re.compile(r"[A-Za-z0-9_.-]+(?:\[[^\]]*\])*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_STRING = json.decoder.scanstring  # type: ignore[attr-defined]


class JsonRefError(ValueError):
    """The text is not relaxed JSON (or names an undefined variable)."""


def _int32(n: int) -> int:
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


class _Parser:
    def __init__(self, text: str, lookup: Callable[[str], Any] | None) -> None:
        self.s = text
        self.i = 0
        self.lookup = lookup

    def ws(self) -> None:
        self.i = _WS.match(self.s, self.i).end()  # type: ignore[union-attr]

    def fail(self, what: str) -> JsonRefError:
        return JsonRefError(f"{what} at offset {self.i}")

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail("data nested too deeply")
        self.ws()
        s = self.s
        if self.i >= len(s):
            raise self.fail("unexpected end")
        c = s[self.i]
        if c == "{":
            return self.obj(depth)
        if c == "[":
            return self.arr(depth)
        if c == '"':
            try:
                text, self.i = _STRING(s, self.i + 1, False)
            except ValueError as e:
                raise self.fail(str(e)) from None
            return text
        m = _NUMBER.match(s, self.i)
        if m is not None and not _BARE.match(s, m.end()):
            self.i = m.end()
            if m.group(1) or m.group(2):
                return float(m.group(0))
            return _int32(int(m.group(0)))
        m = _BARE.match(s, self.i)
        if m is None:
            raise self.fail(f"unexpected '{c}'")
        word = m.group(0)
        self.i = m.end()
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return None
        return self.reference(word)

    def reference(self, name: str) -> Any:
        v = self.lookup(name) if self.lookup is not None else None
        if v is None:
            raise self.fail(f"'{name}' is not a defined variable")
        if isinstance(v, Data):
            return v.value
        if isinstance(v, list):
            return list(v)
        return v

    def comma(self) -> None:
        """The separator after an element: one comma, or none at all (cf-agent reads
        the next element either way); a second comma is refused."""
        self.ws()
        if self.s.startswith(",", self.i):
            self.i += 1
            self.ws()
            if self.s.startswith(",", self.i):
                raise self.fail("extraneous commas")

    def arr(self, depth: int) -> list[Any]:
        self.i += 1
        out: list[Any] = []
        while True:
            self.ws()
            if self.s.startswith("]", self.i):
                self.i += 1
                return out
            out.append(self.value(depth + 1))
            self.comma()

    def obj(self, depth: int) -> dict[str, Any]:
        self.i += 1
        out: dict[str, Any] = {}
        s = self.s
        while True:
            self.ws()
            if s.startswith("}", self.i):
                self.i += 1
                return out
            key_at = self.i
            if s.startswith('"', self.i):
                try:
                    key, self.i = _STRING(s, self.i + 1, False)
                except ValueError as e:
                    raise self.fail(str(e)) from None
            else:
                m = _BARE_KEY.match(s, self.i)
                if m is None:
                    raise self.fail("expected a key")
                key = m.group(0)
                self.i = m.end()
            self.ws()
            # after a quoted key cf-agent reads the value without a ':' too
            if s.startswith(":", self.i):
                self.i += 1
                self.ws()
                if s.startswith(":", self.i):
                    raise self.fail("':' seen without having specified an l-value")
            elif not s.startswith('"', key_at):
                raise self.fail("expected ':'")
            out[key] = self.value(depth + 1)
            self.comma()


def parse(text: str, lookup: Callable[[str], Any] | None = None) -> Any:
    """The first value in ``text``; bare words are resolved through ``lookup``
    (without one, a bare word is an error). JsonRefError when invalid."""
    return _Parser(text, lookup).value(0)


def looks_inline(text: str) -> bool:
    """True when ``text`` is meant as inline JSON (starts with ``[`` or ``{``)."""
    return text.lstrip()[:1] in ("[", "{")


def parse_stream(text: str) -> list[Any]:
    """Every JSON value in ``text``, one after another (a program's JSON output
    may hold several)."""
    p = _Parser(text, None)
    out: list[Any] = []
    while True:
        p.ws()
        if p.i >= len(text):
            return out
        out.append(p.value(0))
