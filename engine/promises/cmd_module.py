"""The module protocol: what a ``commands`` promise with ``module => "true"`` prints.

Lines understood (others are ignored, as cf-agent ignores them):

- ``=name=value``           a string variable
- ``@name= { "a", 'b' }``   a list variable
- ``%name={json}``          a data container (an ``engine.eval.values.Data``)
- ``+class`` / ``-class``   define / cancel a class (canonified)
- ``^context=name``         later variables go to bundle ``name``
- ``^meta=tags``            tags for later variables (accepted, not kept)

Variables land in the module's context: by default the canonified base name of
the command (``/x/mod.sh`` -> ``mod_sh``), as cf-agent does.
"""

from __future__ import annotations

import json
import os
import re

from engine._records import Record
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from engine.promises.base import Logger

_VALID = re.compile(r"[A-Za-z0-9_\[\]]")


def canonify(s: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in s)


def default_context(command: str) -> str:
    """``"/usr/bin/my-mod.sh arg"`` -> ``"my_mod_sh"``."""
    first = command.strip().split(None, 1)[0] if command.strip() else command
    return canonify(os.path.basename(first.strip("\"'")))


class ModuleOutput(Record):
    """Variables keyed by ``(context, name)``, and class changes, in order."""

    __slots__ = ("variables", "classes", "cancel")
    __match_args__ = __slots__

    def __init__(self, variables: dict[tuple[str, str], Any] | None = None,
                 classes: list[str] | None = None, cancel: list[str] | None = None) -> None:
        self.variables: dict[tuple[str, str], Any] = {} if variables is None else variables
        self.classes: list[str] = [] if classes is None else classes
        self.cancel: list[str] = [] if cancel is None else cancel


def parse(lines: list[str], context: str, log: Logger) -> ModuleOutput:
    out = ModuleOutput()
    ctx = context
    log.verbose(f"Module context '{ctx}'")
    for line in lines:
        if not line:
            continue
        kind, rest = line[0], line[1:]
        if kind in "+-":
            name = rest.strip()
            if not name:
                continue
            _check(name, log)
            canon = [canonify(name)]
            if kind == "+":
                log.verbose(f"Activating classes from module protocol: '{rest.strip()}'")
                out.classes.extend(canon)
            else:
                log.verbose(f"Deactivating classes from module protocol: '{rest.strip()}'")
                out.cancel.extend(canon)
            continue
        if kind not in "=@%^" or "=" not in rest:
            continue
        name, _, value = rest.partition("=")
        if kind == "^":
            if name == "context":
                if re.fullmatch(r"[A-Za-z0-9_]+", value):
                    log.verbose(f"Module changed variable context from '{ctx}' to '{value}'")
                    ctx = value
                else:
                    log.error(f"Module protocol was given an unacceptable ^context directive "
                              f"'{value}', skipping it")
            elif name == "meta":
                log.verbose(f"Module set meta tags to '{value}'")
            continue
        _check(name, log)
        if kind == "=":
            out.variables[(ctx, name)] = value
            log.verbose(f"Defined variable '{name}' in context '{ctx}' with value '{value}'")
        elif kind == "@":
            out.variables[(ctx, name)] = parse_list(value)
            log.verbose(f"Defined variable '{name}' in context '{ctx}' with value '{value}'")
        else:
            try:
                out.variables[(ctx, name)] = Data(json.loads(value))
            except ValueError:
                log.error(f"Module protocol data container '{name}' is not valid JSON")
                continue
            log.verbose(f"Defined data container variable '{name}' in context '{ctx}' "
                        f"with value '{value}'")
    return out


def _check(ident: str, log: Logger) -> None:
    for ch in ident:
        if not _VALID.match(ch):
            log.verbose(f"Module protocol contained an illegal character '{ch}' in "
                        f"class/variable identifier '{ident}'.")


def parse_list(text: str) -> list[str]:
    """``{ "a", 'b c' }`` -> ``["a", "b c"]`` (CFEngine's list literal)."""
    s = text.strip()
    if s.startswith("{"):
        s = s[1:]
    if s.endswith("}"):
        s = s[:-1]
    items: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c in "\"'":
            j = i + 1
            buf = []
            while j < len(s) and s[j] != c:
                if s[j] == "\\" and j + 1 < len(s):
                    j += 1
                buf.append(s[j])
                j += 1
            items.append("".join(buf))
            i = j + 1
        elif c.isspace() or c == ",":
            i += 1
        else:
            j = i
            while j < len(s) and s[j] != ",":
                j += 1
            items.append(s[i:j].strip())
            i = j
    return items
