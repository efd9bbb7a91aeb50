"""``@if`` / ``@else`` / ``@endif`` lines, resolved before scanning.

masterfiles guards newer syntax with lines such as ``@if minimum_version(3.18)``.
cf-promises 3.21 reads them like this, and so do we:

* the macro must start in column 1; an indented one is an error;
* conditions: ``minimum_version(V)``, ``maximum_version(V)``, ``before_version(V)``,
  ``after_version(V)``, ``at_version(V)``, ``between_versions(V1, V2)`` and
  ``feature(NAME)``. Versions compare on the components written, so
  ``maximum_version(3.21)`` holds for 3.21.0; an unknown condition is left in the text
  and fails to parse there;
* ``@if`` blocks do not nest; ``@endif`` needs an ``@if``; end of file inside a block
  is an error.

Lines of a block that is not taken (and the macro lines themselves) are blanked, so
every other token keeps its line and column.
"""

from __future__ import annotations

import re
from functools import cache

from engine.policy.ast import Pos
from engine.policy.diagnostics import PolicySyntaxError, error

# The CFEngine release whose language vigil speaks.
LANGUAGE_VERSION = (3, 21, 0)

# Features cf-promises 3.21 reports as present (``@if feature(...)``).
FEATURES = frozenset(
    {
        "host_specific_data_load",
        "def_json_preparse",
        "copyfrom_restrict_keys",
        "yaml",
        "xml",
        "tls_1_0",
        "tls_1_1",
        "tls_1_2",
        "tls_1_3",
    }
)


@cache
def _any_macro() -> re.Pattern[str]:
    return re.compile(r"^[ \t]*@(?:if|else|endif)\b", re.M)


@cache
def _if() -> re.Pattern[str]:
    return re.compile(r"@if[ \t]+(\w+)\(([^()\s,]*(?:,[ \t]*[^()\s,]*)?)\)")


def _version(text: str) -> tuple[int, ...] | None:
    parts = text.split(".")
    if not all(p.isdigit() and len(p) <= 9 for p in parts):
        return None  # not a version (or absurdly long digits): an unknown condition
    return tuple(int(p) for p in parts)


def _cmp(spec: tuple[int, ...]) -> int:
    """Compare the language version with ``spec`` on spec's components: -1, 0 or 1."""
    mine = LANGUAGE_VERSION[: len(spec)]
    return (mine > spec) - (mine < spec)


def condition_holds(name: str, args: str) -> bool | None:
    """Whether ``@if name(args)`` holds; ``None`` for a condition we do not know."""
    if name == "feature":
        return args in FEATURES
    parts = [a.strip() for a in args.split(",")]
    versions = [_version(p) for p in parts]
    if any(v is None for v in versions):
        return None
    vs: list[tuple[int, ...]] = [v for v in versions if v is not None]
    if name == "between_versions" and len(vs) == 2:
        return _cmp(vs[0]) >= 0 and _cmp(vs[1]) <= 0
    if len(vs) != 1:
        return None
    c = _cmp(vs[0])
    return {
        "minimum_version": c >= 0,
        "maximum_version": c <= 0,
        "before_version": c < 0,
        "after_version": c > 0,
        "at_version": c == 0,
    }.get(name)


def preprocess(text: str, path: str) -> str:
    """``text`` with macro lines resolved; raises :class:`PolicySyntaxError` on misuse."""
    # Plain substring tests first: scanning a big file with the multi-line regex
    # costs as much as tokenizing it.
    if "@if" not in text and "@e" not in text:
        return text
    if _any_macro().search(text) is None:
        return text
    lines = text.split("\n")
    out: list[str] = []
    in_if = False  # inside an @if block
    keeping = True  # the lines of the current branch are kept
    if_line = 0
    for n, line in enumerate(lines, start=1):
        stripped = line.lstrip(" \t")
        word = _macro_word(stripped)
        if word is None:
            out.append(line if keeping else "")
            continue
        if len(stripped) != len(line):
            col = len(line) - len(stripped) + 1
            raise PolicySyntaxError(
                error(Pos(path, n, col), f"macro @{word} must be at the beginning of the line")
            )
        if word == "if":
            m = _if().match(line)
            holds = condition_holds(m.group(1), m.group(2)) if m else None
            if m is None or holds is None:
                # Unknown condition: cf-promises leaves the line to the parser, which fails.
                out.append(line if keeping else "")
                continue
            if in_if:
                raise PolicySyntaxError(error(Pos(path, n, 1), "nested @if macros are not allowed"))
            in_if, keeping, if_line = True, holds, n
            out.append(" " * m.end() + line[m.end() :])
        elif word == "else":
            if not in_if:
                raise PolicySyntaxError(error(Pos(path, n, 1), "@else without a matching @if"))
            keeping = not keeping
            out.append("")
        else:  # endif
            if not in_if:
                raise PolicySyntaxError(error(Pos(path, n, 1), "@endif without a matching @if"))
            in_if, keeping = False, True
            out.append("")
    if in_if:
        raise PolicySyntaxError(
            error(
                Pos(path, len(lines), 1),
                f"end of file while the @if on line {if_line} was waiting for @endif",
            )
        )
    return "\n".join(out)


def _macro_word(stripped: str) -> str | None:
    if not stripped.startswith("@"):
        return None
    for word in ("endif", "else", "if"):
        if stripped.startswith(word, 1):
            rest = stripped[1 + len(word) : 2 + len(word)]
            if rest == "" or not (rest.isalnum() or rest == "_"):
                return word
    return None
