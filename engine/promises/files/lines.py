"""Line-level helpers for ``edit_line`` promises: matching, replacing, selecting lines.

Pure functions on strings and lists of lines, used by
:class:`engine.promises.files.edit_line.EditSession`.
"""

from __future__ import annotations

import re

from engine import cfregex

_MATCH_REF = re.compile(r"\$[({]match\.(\d+)[)}]")
MAX_REPLACE = 20  # replacements of one pattern on one line before cf-agent gives up


def _list(v: object) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [str(x) for x in v if str(x) != "cf_null"]
    return [str(v)]


def full_match(pattern: str, text: str) -> bool:
    """CFEngine's anchored match of a whole line; a pattern that does not compile
    matches only itself, as a literal."""
    try:
        return cfregex.full_match(pattern, text)
    except cfregex.RegexLimit:
        raise
    except cfregex.RegexError:
        return pattern == text


def replace_line(rx: cfregex.Pattern, value: str, line: str,
                  first_only: bool) -> tuple[str, str | None]:
    """One line after replacement, and the last replacement made (``None``: none)."""
    last: str | None = None
    match_len = 0
    for _ in range(MAX_REPLACE):
        m = rx.search(line)
        if m is None:
            break
        if match_len == len(line):
            break  # the last match was the whole line: it is what it should be
        match_len = m.end() - m.start()
        rep = _expand_refs(m, value)
        line = line[:m.start()] + rep + line[m.end():]
        last = rep
        if first_only:
            break
    return line, last


def not_anchored(pattern: str) -> bool:
    """cf-agent checks convergence unless the pattern is anchored at both ends."""
    return not (pattern.startswith("^") and pattern.endswith("$"))


def _expand_refs(m: re.Match[str], value: str) -> str:
    """``value`` with each ``$(match.N)`` replaced by group N of ``m``."""
    return _MATCH_REF.sub(lambda r: _group(m, int(r.group(1))), value)


def _group(m: re.Match[str], n: int) -> str:
    try:
        return m.group(n) or ""
    except IndexError:
        return ""


def delete_select(sel: dict[str, object], line: str) -> bool:
    """``delete_select`` body: every list given must agree that the line goes."""
    return _select(sel, "delete", line)


def insert_select(sel: dict[str, object], line: str) -> bool:
    """``insert_select`` body: every list given must agree that the line goes in."""
    return _select(sel, "insert", line)


def _select(sel: dict[str, object], verb: str, line: str) -> bool:
    """``<verb>_if_[not_]{startwith,match,contains}_from_list``: each list given is a
    check (any item matching, or for ``not_`` none), and all checks must hold."""
    checks: list[bool] = []
    for negated in (False, True):
        for kind, test in (
            ("startwith", lambda s: line.startswith(s)),
            ("match", lambda s: full_match(s, line)),
            ("contains", lambda s: s in line),
        ):
            items = _list(sel.get(f"{verb}_if_{'not_' if negated else ''}{kind}_from_list"))
            if items:
                checks.append(any(test(s) for s in items) is not negated)
    return all(checks)
