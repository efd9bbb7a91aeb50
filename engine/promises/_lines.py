"""Line-level helpers for ``edit_line`` promises: matching, replacing, field edits.

Pure functions on strings and lists of lines, used by
:class:`engine.promises.edit_ops.EditSession`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


def replace_line(rx: re.Pattern[str], value: str, line: str,
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
        rep = _MATCH_REF.sub(lambda r, m=m: _group(m, int(r.group(1))), value)
        line = line[:m.start()] + rep + line[m.end():]
        last = rep
        if first_only:
            break
    return line, last


def not_anchored(pattern: str) -> bool:
    """cf-agent checks convergence unless the pattern is anchored at both ends."""
    return not (pattern.startswith("^") and pattern.endswith("$"))


def _group(m: re.Match[str], n: int) -> str:
    try:
        return m.group(n) or ""
    except IndexError:
        return ""


def edit_fields(line: str, sep: str, index: int, vsep: object, value: str, op: str,
                 extend: bool) -> tuple[str, str]:
    try:
        parts = re.split(f"({sep})", line)
    except re.error:
        parts = line.split(sep)
        parts = [x for f in parts for x in (f, sep)][:-1]
    fields = parts[0::2]
    seps = parts[1::2]
    if index < 0:
        return line, ""
    if index >= len(fields):
        if not extend:
            return line, ""
        joiner = seps[0] if seps else sep.replace("\\", "")
        while len(fields) <= index:
            fields.append("")
            seps.append(joiner)
    old = fields[index]
    msg = "Set field sub-value"
    if op in ("set", "none") or not vsep:
        fields[index] = value
    else:
        vs = str(vsep)
        subs = [s for s in old.split(vs)] if old else []
        if op == "append":
            if value not in subs:
                subs.append(value)
            msg = "Appended field sub-value"
        elif op == "prepend":
            if value not in subs:
                subs.insert(0, value)
            msg = "Prepended field sub-value"
        elif op == "delete":
            subs = [s for s in subs if s != value]
            msg = "Deleted column field sub-value"
        elif op == "alphanum":
            if value not in subs:
                subs.append(value)
                subs.sort()
            msg = "Inserted field sub-value"
        fields[index] = vs.join(subs)
    out = [fields[0]]
    for s, f in zip(seps, fields[1:], strict=False):
        out.append(s)
        out.append(f)
    return "".join(out), msg


def has_block(region: list[str], block: list[str], same: Callable[[str, str], bool]) -> bool:
    n = len(block)
    for i in range(len(region) - n + 1):
        if all(same(block[k], region[i + k]) for k in range(n)):
            return True
    return False


def comparator(policy: list[str]) -> Callable[[str, str], bool]:
    if not policy or policy == ["exact_match"]:
        return lambda a, b: a == b
    lead = "ignore_leading" in policy
    trail = "ignore_trailing" in policy
    embed = "ignore_embedded" in policy

    def norm(s: str) -> str:
        if lead:
            s = s.lstrip()
        if trail:
            s = s.rstrip()
        if embed:
            s = re.sub(r"\s+", " ", s)
        return s

    return lambda a, b: norm(a) == norm(b)


def delete_select(sel: dict[str, object], line: str) -> bool:
    """``delete_select`` body: every list given must agree that the line goes."""
    checks: list[bool] = []
    for key, test in (
        ("delete_if_startwith_from_list", lambda s: line.startswith(s)),
        ("delete_if_match_from_list", lambda s: full_match(s, line)),
        ("delete_if_contains_from_list", lambda s: s in line),
    ):
        items = _list(sel.get(key))
        if items:
            checks.append(any(test(s) for s in items))
    for key, test in (
        ("delete_if_not_startwith_from_list", lambda s: line.startswith(s)),
        ("delete_if_not_match_from_list", lambda s: full_match(s, line)),
        ("delete_if_not_contains_from_list", lambda s: s in line),
    ):
        items = _list(sel.get(key))
        if items:
            checks.append(not any(test(s) for s in items))
    return all(checks)


def insert_select(sel: dict[str, object], line: str) -> bool:
    checks: list[bool] = []
    for key, test in (
        ("insert_if_startwith_from_list", lambda s: line.startswith(s)),
        ("insert_if_match_from_list", lambda s: full_match(s, line)),
        ("insert_if_contains_from_list", lambda s: s in line),
    ):
        items = _list(sel.get(key))
        if items:
            checks.append(any(test(s) for s in items))
    for key, test in (
        ("insert_if_not_startwith_from_list", lambda s: line.startswith(s)),
        ("insert_if_not_match_from_list", lambda s: full_match(s, line)),
        ("insert_if_not_contains_from_list", lambda s: s in line),
    ):
        items = _list(sel.get(key))
        if items:
            checks.append(not any(test(s) for s in items))
    return all(checks)
