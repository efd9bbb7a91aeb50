"""Files promisers that are regular expressions: which paths a promise stands for.

cf-agent treats a files promiser as a pattern when one of its path components
looks like a regular expression (``"/etc/.*/conf"``, ``"$(dir)/a[0-9]+"``) and
``pathtype`` is not ``literal``. The components are taken left to right: the
literal ones are joined into a directory, the first pattern component is matched
against the whole name of each entry of that directory (``.`` and ``..`` aside;
a name equal to the pattern's text matches too),
and the rest of the path is appended to each match and expanded again. Each
complete path is one promise, with ``this.promiser`` the path and ``match.N``
the groups of the whole promiser matched against it.

Two corners follow cf-agent 3.21 on purpose: a directory that cannot be read
leaves the promiser as it is (with create it is made under that literal name),
and a pattern that matches nothing, under ``create``, makes the promiser itself.

What looks like a pattern is decided as cf-agent decides it: ``*`` or ``+``
after something they can repeat, a bracket expression, or ``|`` inside
parentheses; brackets and parentheses must balance and a trailing backslash
makes the text literal. A ``.`` or ``?`` alone does not make a pattern.
"""

from __future__ import annotations

import os
import stat

from engine import cfregex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# one path a regex promiser stands for, and the match.N variables that go with it
Target = tuple[str, dict[str, str]]


def looks_like_regex(text: str) -> bool:
    """Whether cf-agent would take ``text`` (one path component) as a pattern."""
    if "*" not in text and "+" not in text and "[" not in text and "|" not in text:
        return False  # nothing below could make it one (most paths: a promise each)
    found = False
    after_repeatable = False  # the previous character can be followed by * or +
    escaped = False
    in_bracket = False
    parens = 0
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
            after_repeatable = True
            continue
        if ch == "\\":
            escaped = True
            continue
        if in_bracket:
            if ch == "[":
                return False
            if ch == "]":
                in_bracket = False
                after_repeatable = True
            continue
        if ch in "*+":
            if not after_repeatable:
                return False
            found = True
            after_repeatable = False
        elif ch == "[":
            in_bracket = True
            found = True
        elif ch == "]":
            return False
        elif ch == "(":
            parens += 1
            after_repeatable = False
        elif ch == ")":
            parens -= 1
            if parens < 0:
                return False
            after_repeatable = True
        elif ch == "|":
            after_repeatable = False
            found = found or parens > 0
        elif ch == "^":
            after_repeatable = i != 0
        else:
            after_repeatable = True
    return found and not in_bracket and parens == 0 and not escaped


def path_regex_problem(path: str) -> bool:
    """True when a pattern promiser puts ``/`` inside brackets or parentheses
    (cf-agent then takes it literally, with two error lines)."""
    depth = 0
    for ch in path:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "/" and depth:
            return True
    return False


def expand(pattern: str, create: bool, error: Callable[[str], None]) -> list[Target] | None:
    """The paths the files promiser ``pattern`` stands for, in directory order;
    None when it is not a pattern (the promise is kept for the path as written)."""
    if not looks_like_regex(pattern):
        return None
    if path_regex_problem(pattern):
        error(f"Path regular expression {pattern} seems to use expressions containing "
              "the directory symbol /")
        error("Use a work-around to avoid pathological behaviour")
        return None
    try:
        whole = cfregex.compile(pattern)
    except cfregex.RegexError:
        whole = None
    out: list[Target] = []
    _locate(pattern, pattern, whole, create, out)
    return out


def _groups(whole: cfregex.Pattern | None, path: str) -> dict[str, str]:
    m = None
    if whole is not None:
        try:
            m = whole.fullmatch(path)
        except cfregex.RegexError:
            m = None
    if m is None or whole is None:
        return {}
    return {f"match.{i}": (m.group(i) or "") for i in range(whole.groups + 1)}


def _locate(wild: str, pattern: str, whole: cfregex.Pattern | None, create: bool,
            out: list[Target]) -> None:
    parts = wild.split("/")
    prefix = ""
    prefix_is_dir = False
    at = -1
    for i, comp in enumerate(parts):
        if not comp:
            continue
        if looks_like_regex(comp):
            at = i
            break
        prefix += "/" + comp
        try:
            prefix_is_dir = stat.S_ISDIR(os.stat(prefix).st_mode)
        except OSError:
            pass  # cf-agent keeps what it learnt from the last directory it could stat
    if at < 0:
        out.append((prefix, {}))
        if create:
            out.append((pattern, {}))
        return
    last = at == len(parts) - 1
    try:
        names = os.listdir(prefix or "/")
    except OSError:
        out.append((wild, {}))  # perhaps a directory still to be made
        return
    try:
        rx = cfregex.compile(parts[at])
    except cfregex.RegexError:
        names = []
    count = 0
    for name in names:
        if not last and not prefix_is_dir:
            continue
        try:  # cf-agent takes a name equal to the pattern's text as a match
            if name != parts[at] and not rx.fullmatch(name):
                continue
        except cfregex.RegexError:
            continue
        count += 1
        nxt = prefix + "/" + name
        for rest in parts[at + 1:]:
            if not nxt.endswith("/"):
                nxt += "/"
            nxt += rest
        if not last and nxt != wild:
            _locate(nxt, pattern, whole, create, out)
        else:
            out.append((nxt, _groups(whole, nxt)))
    if count == 0 and create:
        out.append((pattern, {}))


def worst(outcomes: list[str]) -> str | None:
    """The outcome that stands for several (a failure over a repair over kept);
    None when there is none."""
    rank = {"skipped": 0, "kept": 1, "repaired": 2}
    return max(outcomes, key=lambda o: rank.get(o, 3)) if outcomes else None
