"""The stdlib ``re`` runs a policy regex only where it gives the ``regex`` engine's
answer: for random patterns of the subset (and random garbage), random flags and random
subjects (ASCII and not: \\x1c-\\x1f, White_Space, combining marks, non-ASCII digits,
case-folding traps, lone surrogates), every operation agrees, and so do compile errors."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import cfregex
from engine.cfregex import _subset

LITERALS = list("abcxAB09 _-:,#=/@%&~'\"<>é߀٣")
PUNCT = list(".^$|?*+()[]{}\\-/:#,=!<>&~ %'\"@;`")
SUBJECT_CHARS = (list("abcxyzAB09 _-:,#=./\\()[]{}|*+?^$\n\t\r") +
                 ["\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000", "\u0301",
                  "\u0663", "\u00b2", "ß", "é", "K", "\u212a", "k", "s", "\u017f", "\u0130",
                  "i", "\x00", "\ud800", "\udcff", "\U0001d7ce"])
SPACE_LIKE = [chr(c) for c in range(0x3000)]


def _atom(draw: Any) -> str:
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return draw(st.sampled_from(LITERALS)).replace(" ", draw(st.sampled_from([" ", "\\ "])))
    if kind == 4:
        return "\\" + draw(st.sampled_from(PUNCT))
    if kind == 5:
        return draw(st.sampled_from([".", r"\n", r"\t", r"\x41", r"\x1c", r"\xe9"]))
    if kind == 6:
        return draw(st.sampled_from([r"\s", r"\S", r"\d", r"\D", r"\w", r"\W"]))
    items = draw(st.lists(st.sampled_from(
        ["a", "b", "z", "0-9", "a-f", "A-Z", "x-z", r"\d", r"\w", r"\s", r"\n",
         r"\]", r"\\", r"\-", "[", "|", "&", "~", ".", "$", "(", ")", "é", "\u0300-\u036f",
         r"\x00-\x1f", "#", ":", ",", " "]), min_size=1, max_size=4))
    neg = draw(st.booleans())
    tail = draw(st.sampled_from(["", "-"]))
    return "[" + ("^" if neg else "") + "".join(items) + tail + "]"


QUANTS = ["*", "+", "?", "{2}", "{1,}", "{0,3}", "{,2}", "{3}", "*?", "+?", "??", "{1,2}?"]


@st.composite
def patterns(draw: Any, depth: int = 0) -> str:
    """A pattern of the subset (well formed: every draw should be admitted)."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            out.append(draw(st.sampled_from(["^", "$", r"\b"])))
            continue
        if kind == 1 and depth < 2:
            inner = draw(patterns(depth + 1))
            alt = draw(st.booleans())
            if alt:
                inner += "|" + draw(patterns(depth + 1))
            head = draw(st.sampled_from(["(", "(?:", f"(?P<g{draw(st.integers(0, 3))}>"]))
            group = head + inner + ")"
            if draw(st.booleans()):
                group += draw(st.sampled_from(["{2}", "?", "{1,3}", "*", "+"]))
            out.append(group)
            continue
        atom = _atom(draw)
        if draw(st.booleans()):
            atom += draw(st.sampled_from(QUANTS))
        out.append(atom)
    return "".join(out)


subjects = st.lists(st.sampled_from(SUBJECT_CHARS), max_size=12).map("".join)
flag_sets = st.sampled_from(["", "(?i)", "(?s)", "(?m)", "(?ms)", "(?i)(?s)"])


def _m(m: Any) -> Any:
    if m is None:
        return None
    return (m.span(), [m.span(g) for g in range(1 + len(m.groups()))], m.groups(),
            m.groupdict())


def _ops(rx: Any, s: str) -> list[Any]:
    """Every operation callers use, on s; each result or the exception's type."""
    def sub_fn(m: Any) -> str:
        return "<" + m.group(0) + ">"

    calls = [lambda: _m(rx.match(s)), lambda: _m(rx.match(s, 1)), lambda: _m(rx.search(s)),
             lambda: _m(rx.search(s, 2)), lambda: _m(rx.fullmatch(s)), lambda: rx.findall(s),
             lambda: [_m(m) for m in rx.finditer(s)], lambda: rx.split(s),
             lambda: rx.split(s, 1), lambda: rx.sub(sub_fn, s), lambda: rx.subn("", s),
             lambda: rx.sub("-", s, 1), lambda: (rx.groups, dict(rx.groupindex))]
    out = []
    for call in calls:
        try:
            out.append(call())
        except Exception as e:  # noqa: BLE001 - the same failure is what is compared
            out.append(type(e).__name__)
    return out


def _reference(pattern: str, dotall: bool, multiline: bool) -> Any:
    flags = regex.V0 | (regex.DOTALL if dotall else 0) | (regex.MULTILINE if multiline else 0)
    return regex.compile(pattern, flags)


def check(pattern: str, dotall: bool, multiline: bool, subject_list: list[str]) -> bool:
    """re (as the subset spells the pattern) agrees with regex on each subject where the
    subset lets re run; True when the pattern was admitted."""
    sh = _subset.shape(pattern, dotall, multiline)
    if sh is None:
        return False
    try:
        ref = _reference(pattern, dotall, multiline)
    except regex.error:
        ref = None
    try:
        std = re.compile(sh.source, sh.flags)
    except re.error:
        std = None  # cfregex then compiles with regex: its own error or pattern
    if std is None:
        return True
    assert ref is not None, f"re accepts {pattern!r} ({sh.source!r}), regex does not"
    for s in subject_list:
        if sh.admits(s):
            assert _ops(std, s) == _ops(ref, s), (pattern, sh.source, s)
    return True


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(patterns(), flag_sets, st.booleans(), st.booleans(), st.lists(subjects, min_size=1,
                                                                       max_size=6))
def test_re_agrees_with_regex_on_the_subset(body: str, inline: str, dotall: bool,
                                            multiline: bool, subject_list: list[str]) -> None:
    pattern = inline + body
    admitted = check(pattern, dotall, multiline, subject_list)
    quantified_group = re.search(r"\)[*+?{]", body) is not None
    posix = any(x in body for x in ("[:", "[.", "[="))
    if not quantified_group and not posix and ("(?i)" not in inline or body.isascii()):
        assert admitted, f"the subset should admit {pattern!r}"


garbage = st.lists(st.sampled_from(list("ab.^$|?*+()[]{}\\-,:0123sSdDwWbBnxAzZPRh<>=!#i ")),
                   max_size=10).map("".join)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(garbage, st.booleans(), st.booleans(), st.lists(subjects, min_size=1, max_size=3))
def test_random_text_compiles_and_matches_as_regex_does(pattern: str, dotall: bool,
                                                         multiline: bool,
                                                         subject_list: list[str]) -> None:
    check(pattern, dotall, multiline, subject_list)
    try:
        ref = _reference(pattern, dotall, multiline)
    except regex.error as e:
        try:
            cfregex.compile(pattern, dotall, multiline)
        except cfregex.RegexError as err:
            assert str(err) == f"Regular expression error: '{pattern}': {e}"
        else:
            raise AssertionError(f"{pattern!r} compiled, regex says {e}")
        return
    ours = cfregex.compile(pattern, dotall, multiline)
    for s in subject_list:
        assert _ops(ours, s) == _ops(ref, s), (pattern, s)


@pytest.mark.parametrize("pattern", [r"\s", r"\S", r"[\s]", r"[^\s]", r"[a\s]", r"\w", r"\d",
                                     r"\W", r"[^\w]", r"\b"])
def test_gated_escapes_agree_on_every_character_the_gate_lets_through(pattern: str) -> None:
    """\\s in re is regex's \\s but on \\x1c-\\x1f, \\w and \\d are on ASCII: on every
    code point the gate admits, they agree; on the others the call runs in regex."""
    sh = _subset.shape(pattern, False, False)
    assert sh is not None and sh.gated
    std = re.compile(sh.source)
    ref = regex.compile(pattern, regex.V0)
    admitted = [chr(c) for c in range(sys.maxunicode + 1) if sh.admits(chr(c))]
    assert len(admitted) in (0x80, sys.maxunicode + 1 - 4)
    text = "".join(admitted)
    assert [m.span() for m in std.finditer(text)] == [m.span() for m in ref.finditer(text)]
    ours = cfregex.compile(pattern)
    for s in ["a\x1cb c", "x\u0301y 3\u0663", "\x1f\x1f", "\x85 \xa0"]:
        assert _ops(ours, s) == _ops(ref, s)


def test_masterfiles_patterns_are_admitted() -> None:
    for p in [r"\s+", r"\n", ",", r"\.", " ", r"#[^\n]*", r"\s*#[^\n]*", r"(:|\s+)", r"\s*:\s*",
              r"\s*:\s+", r"processor\s+:\s\d+", "^[1-9][0-9]*$", ".+=.+",
              "(policy slist|data array)", ".* nfs .*", "testing_.*", r"cfagent\..*\.log",
              "^.*,.*,.*,.*$", r"major[^\n]*",
              r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
              r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b"]:
        assert _subset.shape(p, False, False) is not None, p
        assert _subset.shape(p, True, True) is not None, p


def test_outside_the_subset() -> None:
    for p in ["(a|a)*b", "(a+)+$", "(?=a)", "(?<=a)b", r"(a)\1", "a*+", "(?>a)", r"\R", r"\h",
              r"\K", r"\Qa\E", r"\z", r"\A", r"\x{41}", "[[:alpha:]]", "[]a]", "[a-c-e]",
              r"[\d-z]", "a{", "a**", "(?i:a)", "a(?i)b", "(?x)a", "(?|a)", "(?<n>a)",
              "(?:)*", "(^a)*", r"\B", r"[\S]", r"[^\D]", r"[\W]", "a{2000}", "\ud800",
              "é(?i)", r"\v", r"\0"]:
        assert _subset.shape(p, False, False) is None, p
