"""The module protocol: what a ``commands`` promise with ``module => "true"`` prints
(also read by ``usemodule()``).

Lines understood, as cf-agent 3.21 reads them (others are ignored without a word):

- ``=name=value``           a string variable (``=name`` alone: the empty string)
- ``@name= { "a", 'b' }``   a list variable (quoted items only, no escapes)
- ``%name={json}``          a data container (an object or an array)
- ``&name=path``            a data container read from a JSON, YAML, CSV or ENV file
- ``+class`` / ``-class``   define / cancel a class (canonified, namespace scope)
- ``^context=name``         later variables go to bundle ``name``
- ``^meta=a,b``             tags (plus ``source=module``) for later variables and classes
- ``^persistence=N``        later classes persist for N minutes (0 or less: they do not)

Variables land in the module's context: by default the canonified base name of
the command (``/x/mod.sh`` -> ``mod_sh``), as cf-agent does. A line that does not
parse is reported and skipped; the lines after it are still read.
"""

from __future__ import annotations

import os
import re

from engine._records import Record
from engine.eval.values import Data
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from engine.promises.base import Logger

# what cf-agent 3.21 accepts in a name without a verbose note ('.', '-', '@' and '/'
# are for keys of classic arrays); names with other characters are still defined
_VALID = re.compile(r"[A-Za-z0-9_\[\].@/-]")
_CONTEXT = re.compile(r"[A-Za-z0-9_]+")
_LEADING_INT = re.compile(r"[-+]?\d+")


def default_context(command: str) -> str:
    """``"/usr/bin/my-mod.sh arg"`` -> ``"my_mod_sh"``."""
    first = command.strip().split(None, 1)[0] if command.strip() else command
    return canonify(os.path.basename(first.strip("\"'")))


class ModuleOutput(Record):
    """What a module defined. ``variables`` are keyed by ``(context, name)``;
    ``classes`` and ``cancel`` are the net class changes (a class defined and then
    cancelled by the same module ends up cancelled, and the other way round).
    ``tags`` holds the ``^meta`` tags of variables and classes that had some,
    ``persistent`` the minutes of classes set while ``^persistence`` was above 0."""

    __match_args__ = ("variables", "classes", "cancel", "tags", "class_tags", "persistent")
    __slots__ = __match_args__

    def __init__(self, variables: dict[tuple[str, str], Any] | None = None,
                 classes: list[str] | None = None, cancel: list[str] | None = None,
                 tags: dict[tuple[str, str], tuple[str, ...]] | None = None,
                 class_tags: dict[str, tuple[str, ...]] | None = None,
                 persistent: dict[str, int] | None = None) -> None:
        self.variables: dict[tuple[str, str], Any] = {} if variables is None else variables
        self.classes: list[str] = [] if classes is None else classes
        self.cancel: list[str] = [] if cancel is None else cancel
        self.tags: dict[tuple[str, str], tuple[str, ...]] = {} if tags is None else tags
        self.class_tags: dict[str, tuple[str, ...]] = {} if class_tags is None else class_tags
        self.persistent: dict[str, int] = {} if persistent is None else persistent

    def define(self, name: str, tags: tuple[str, ...], minutes: int) -> None:
        if name in self.cancel:
            self.cancel.remove(name)
        if name not in self.classes:
            self.classes.append(name)
        if tags:
            self.class_tags[name] = tags
        if minutes > 0:
            self.persistent[name] = minutes

    def undefine(self, name: str) -> None:
        if name in self.classes:
            self.classes.remove(name)
        self.persistent.pop(name, None)
        if name not in self.cancel:
            self.cancel.append(name)


class _State:
    """The protocol extensions in force: they last until changed or the output ends."""

    __slots__ = ("context", "tags", "persistence")

    def __init__(self, context: str) -> None:
        self.context = context
        self.tags: tuple[str, ...] = ()
        self.persistence = 0


def parse(lines: list[str], context: str, log: Logger) -> ModuleOutput:
    out = ModuleOutput()
    st = _State(context)
    log.verbose(f"Module context '{context}'")
    for line in lines:
        if not line:
            continue
        kind, rest = line[0], line[1:]
        if kind in "+-":
            _class_line(out, st, kind, rest, log)
        elif kind == "^":
            _extension(st, line, log)
        elif kind in "=@%&":
            name, _, value = rest.partition("=")
            _check(name, log)
            _variable(out, st, kind, name, value, log)
    return out


def _class_line(out: ModuleOutput, st: _State, kind: str, name: str, log: Logger) -> None:
    if kind == "+":
        log.verbose(f"Activating classes from module protocol: '{name}'")
    else:
        log.verbose(f"Deactivating classes from module protocol: '{name}'")
    if not name:
        return
    _check(name, log)
    # "ns:name" names a class in namespace ns, as cf-agent reads it
    canon = ":".join(canonify(part) for part in name.split(":", 1))
    if kind == "-":
        out.undefine(canon)
        return
    out.define(canon, (*st.tags, "source=module") if st.tags else (), st.persistence)
    if st.persistence > 0:
        log.verbose(f"Module set persistent class '{name}' for {st.persistence} minutes")


def _extension(st: _State, line: str, log: Logger) -> None:
    """``^context=``, ``^meta=``, ``^persistence=``; one with no value, or any other,
    is reported (info, as cf-agent does) and changes nothing."""
    name, eq, value = line[1:].partition("=")
    if eq and value:
        if name == "context":
            if _CONTEXT.fullmatch(value):
                log.verbose(f"Module changed variable context from '{st.context}' to '{value}'")
                st.context = value
            else:
                log.error(f"Module protocol was given an unacceptable ^context directive "
                          f"'{value}', skipping it")
            return
        if name == "meta":
            log.verbose(f"Module set meta tags to '{value}'")
            st.tags = tuple(t for t in value.split(",") if t)
            return
        m = _LEADING_INT.match(value) if name == "persistence" else None
        if m is not None:
            st.persistence = int(m.group())
            log.verbose(f"Module set persistence to {st.persistence} minutes")
            return
    log.info(f"Unknown extended module command '{line}'")


def _variable(out: ModuleOutput, st: _State, kind: str, name: str, value: str,
              log: Logger) -> None:
    ctx = st.context
    parsed: Any
    if kind == "=":
        parsed = value
        log.verbose(f"Defined variable '{name}' in context '{ctx}' with value '{value}'")
    elif kind == "@":
        parsed = parse_list(value, log)
        if parsed is None:
            log.error(f"Module protocol could not parse variable {name}'s data content {value}")
            return
        log.verbose(f"Defined variable '{name}' in context '{ctx}' with value '{value}'")
    elif kind == "%":
        parsed = _json_container(value, log)
        if parsed is None:
            return
        log.verbose(f"Defined data container variable '{name}' in context '{ctx}' "
                    f"with value '{value}'")
    else:
        parsed = _file_container(value, log)
        if parsed is None:
            return
    out.variables[(ctx, name)] = parsed
    if st.tags:
        out.tags[(ctx, name)] = (*st.tags, "source=module")


def _json_container(text: str, log: Logger) -> Data | None:
    """The object or array in ``text`` (read as cf-agent's lenient reader does);
    None, reported at info level as cf-agent does, for anything else."""
    from engine.eval.functions.data_fns import parse_lenient

    if not text.strip():
        log.info(f"Failed to parse JSON '{text}' for module protocol: No data")
        return None
    try:
        value = parse_lenient(text)
    except ValueError as e:
        log.info(f"Failed to parse JSON '{text}' for module protocol: {e}")
        return None
    if not isinstance(value, (dict, list)):
        log.info(f"Module protocol JSON '{text}' should be object or array; wasn't")
        return None
    return Data(value)


def _file_container(path: str, log: Logger) -> Data | None:
    """``&name=path``: the file's data, its format told by its extension (.yaml/.yml,
    .csv, .env, anything else JSON). A relative path is taken from the agent's
    working directory, as cf-agent does."""
    from engine.eval.functions import data_fns
    from engine.eval.functions.readers import read_text
    from engine.eval.functions.registry import FunctionError

    try:
        text = read_text(path, 0, "module")
    except FunctionError:
        log.error(f"could not load module file '{path}'")
        return None
    low = path.lower()
    try:
        if low.endswith((".yaml", ".yml")):
            from engine.eval.functions.yaml_fns import parse_yaml

            value = parse_yaml(text)
            kind = "YAML"
        elif low.endswith(".csv"):
            value, kind = data_fns._parse_csv(text), "CSV"
        elif low.endswith(".env"):
            value, kind = data_fns._parse_env(text), "ENV"
        else:
            kind = "JSON"
            value = data_fns.parse_lenient(text) if text.strip() else None
    except (ValueError, FunctionError) as e:
        log.error(f"module file protocol: error parsing {kind} file '{path}': {e}")
        return None
    if not isinstance(value, (dict, list)):
        log.error(f"module file protocol: error parsing {kind} file '{path}': "
                  "not an object or an array")
        return None
    return Data(value)


def _check(ident: str, log: Logger) -> None:
    for ch in ident:
        if not _VALID.match(ch):
            log.verbose(f"Module protocol contained an illegal character '{ch}' in "
                        f"class/variable identifier '{ident}'.")


_BLANK = " \t"


def parse_list(text: str, log: Logger | None = None) -> list[str] | None:
    """``{ "a", 'b c' }`` -> ``["a", "b c"]``: the list literal of the module protocol.

    Items are quoted with ``"`` or ``'`` and hold any other character (there are no
    escapes); blanks may surround the braces, items and commas; nothing may follow
    the closing brace. Anything else (``{}``, ``{ }``, a trailing comma, a bare word)
    is malformed and gives None, as in cf-agent 3.21, which calls a list that goes
    wrong on its last character or runs out 'unexpected end of input'."""
    items, bad = _scan(text)
    if bad < 0:
        return items
    if log is not None:
        log.error("Parsing error : Malformed string (unexpected end of input)"
                  if bad >= len(text) - 1 else "Parsing error : Malformed string")
    return None


def _scan(text: str) -> tuple[list[str], int]:
    """The items of a list literal and -1, or where it stops making sense
    (``len(text)`` when it ends too early)."""
    items: list[str] = []
    n = len(text)
    i = 0
    while i < n and text[i] in _BLANK:
        i += 1
    if i >= n or text[i] != "{":
        return items, i
    i += 1
    expect_item = True
    while True:
        while i < n and text[i] in _BLANK:
            i += 1
        if i >= n:
            return items, n
        c = text[i]
        if expect_item:
            if c not in "\"'":
                return items, i
            end = text.find(c, i + 1)
            if end < 0:
                return items, n
            items.append(text[i + 1 : end])
            i = end + 1
            expect_item = False
        elif c == ",":
            i += 1
            expect_item = True
        elif c == "}":
            j = i + 1
            while j < n and text[j] in _BLANK:
                j += 1
            return (items, -1) if j >= n else (items, j)
        else:
            return items, i
