"""A policy regex never hangs a run, whichever engine runs it: a call runs in ``re``
only when its cost bound fits the budget (and then takes milliseconds even on the
subject that is worst for it), else in ``regex`` under its time limit, which ends in
the right answer or :class:`RegexLimit`."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import regex

from engine import cfregex
from engine.cfregex import _cost, _subset

KINDS = {_cost.MATCH: "match", _cost.FULLMATCH: "fullmatch", _cost.SEARCH: "search",
         _cost.ALL: "findall"}

#: patterns and the subject of n characters that is worst for each (long runs that
#: backtrack, near misses)
ADVERSARIAL: list[tuple[str, Callable[[int], str]]] = [
    (r".*.*x", lambda n: "a" * n), (r"a*a*b", lambda n: "a" * n),
    (r".*.*.*x", lambda n: "a" * n), (r"\s*#[^\n]*", lambda n: " " * n),
    (r"\s*:\s*", lambda n: " " * n), (r"x*y", lambda n: "x" * n),
    (r"(?:ab)*c", lambda n: "ab" * (n // 2)), (r"(?:ab)*?c", lambda n: "ab" * (n // 2)),
    (r"(?:a|b|ab){3}c", lambda n: "ab" * (n // 2)), (r".*?.*?x", lambda n: "a" * n),
    (r"[^\n]*?x", lambda n: "a" * n), (r"\b\w+\b\w+\b", lambda n: "a " * (n // 2)),
    (r"(?:a+b){3}c", lambda n: ("a" * 20 + "b") * (n // 21)),
    (r"a{0,1000}a{0,1000}b", lambda n: "a" * n), (r"^.*,.*,.*,.*$", lambda n: "," * n),
    (r"(?:\w\w\w)+!", lambda n: "a" * n), (r"(?:a|ab)(?:c|bcd)(?:d*)e", lambda n: "abcd" * n),
    (r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}x", lambda n: "1." * n),
]


def _largest_admitted(sh: _subset.Shape, kind: int) -> int:
    lo, hi = 0, 1 << 20
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _cost.cost(sh, kind, mid) <= _cost.BUDGET:
            lo = mid
        else:
            hi = mid - 1
    return lo


@pytest.mark.parametrize(("pattern", "worst"), ADVERSARIAL)
def test_re_stays_fast_at_the_edge_of_the_budget(pattern: str,
                                                 worst: Callable[[int], str]) -> None:
    """At the longest subject the bound admits, the worst subject takes a few ms (the
    limit here allows a loaded machine 25 times that); the budget is far from 1 s."""
    sh = _subset.shape(pattern, False, True)
    assert sh is not None
    std = re.compile(sh.source, sh.flags)
    for kind, name in KINDS.items():
        s = worst(_largest_admitted(sh, kind))[:1 << 20]
        call = getattr(std, name)
        best = min(_timed(call, s) for _ in range(3))
        assert best < 0.05, (pattern, name, len(s), best)


def _timed(call: Callable[[str], object], s: str) -> float:
    start = time.perf_counter()
    call(s)
    return time.perf_counter() - start


def _runs_in_re(rx: cfregex.Pattern, kind: int, s: str) -> bool:
    return rx._re_for(kind, s) is not None


def test_catastrophic_patterns_go_to_regex_and_end_within_its_limit() -> None:
    for pattern, subject, op in [("(a|a)*b", "a" * 5000, "search"),
                                 ("(a+)+$", "a" * 5000 + "!", "search"),
                                 (".*.*.*x", "a" * 20000, "search"),
                                 (".*.*.*x", "a" * 20000, "findall"),
                                 (r"\s*#[^\n]*", " " * 200000, "sub")]:
        rx = cfregex.compile(pattern)
        start = time.process_time()  # (regex's limit is on CPU time: a loaded box waits)
        try:
            out = rx.sub("", subject) if op == "sub" else getattr(rx, op)(subject)
        except cfregex.RegexLimit:
            out = None
        assert time.process_time() - start < 0.5 + cfregex.MATCH_TIME_LIMIT
        if out is not None:  # (regex answered within its limit: so does it here)
            ref = regex.compile(pattern, regex.V0)
            assert out == (ref.sub("", subject) if op == "sub" else getattr(ref, op)(subject))


def test_the_subject_decides_which_engine() -> None:
    comments = cfregex.compile(r"\s*#[^\n]*")
    config = "key = value  # a comment\n    other: 1\n" * 1000  # 38 kB
    assert _runs_in_re(comments, _cost.ALL, config)  # short runs: linear work
    assert not _runs_in_re(comments, _cost.ALL, " " * 100000)  # one quadratic run
    assert comments.sub("", config) == regex.sub(r"\s*#[^\n]*", "", config)
    blank = " " * 100000
    assert comments.sub("", blank + "#x") == ""
    words = cfregex.compile(r"\w+")  # \w agrees with regex's on ASCII only
    assert _runs_in_re(words, _cost.ALL, "abc def")
    assert not _runs_in_re(words, _cost.ALL, "abc d\u0301f")
    assert words.findall("abc d\u0301f") == ["abc", "d\u0301f"]  # regex's \w takes marks
    spaces = cfregex.compile(r"\s+")  # re's \s also takes \x1c-\x1f, regex's does not
    assert _runs_in_re(spaces, _cost.ALL, "a b\tc")
    assert not _runs_in_re(spaces, _cost.ALL, "a\x1cb c")
    assert spaces.split("a\x1cb c") == ["a\x1cb", "c"]
    quantifier_free = cfregex.compile(r"\n")
    assert _runs_in_re(quantifier_free, _cost.ALL, "line\n" * 200000)


def test_templates_with_escapes_are_expanded_by_regex() -> None:
    rx = cfregex.compile("(a)(b)?")
    for template in [r"\1-\2", r"\g<1>", r"x\ny", "plain"]:
        assert rx.sub(template, "ab a") == regex.sub("(a)(b)?", template, "ab a",
                                                     flags=regex.V0)


def test_errors_read_as_regex_words_them() -> None:
    for pattern in ["(a", "a)", "*a", "a{2,1}", "[b-a]", "(?P<1>x)", "x**"]:
        with pytest.raises(cfregex.RegexError) as err:
            cfregex.compile(pattern)
        try:
            regex.compile(pattern, regex.V0)
        except regex.error as e:
            assert str(err.value) == f"Regular expression error: '{pattern}': {e}"
    dup = cfregex.compile("(?P<a>x)|(?P<a>y)")  # regex takes a name twice; re does not
    assert dup.groupindex == {"a": 1}
    assert dup.match("y").group("a") == "y"


def test_a_masterfiles_run_s_patterns_do_not_import_regex() -> None:
    """The regex module (~6 ms to import) is loaded only for a call that needs it."""
    script = r"""
import sys
from engine import cfregex
text = "processor\t: 0\nmodel name\t: AMD EPYC\n# comment\n  flags : fpu vme\n" * 60
for p in [r"\s+", r"\n", ",", r"\.", " ", r"#[^\n]*", r"\s*#[^\n]*", r"(:|\s+)", r"\s*:\s*",
          r"\s*:\s+", r"major[^\n]*"]:
    rx = cfregex.compile(p)
    rx.split(text); rx.sub("", text); rx.search(text)
for p in [r"processor\s+:\s\d+", "^[1-9][0-9]*$", ".+=.+", "(policy slist|data array)",
          ".* nfs .*", "testing_.*", r"cfagent\..*\.log", "^.*,.*,.*,.*$",
          r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
          r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b"]:
    for s in ["processor : 12", "42", "a=b", "data array", "x nfs y", "192.168.1.20", "a,b,c,d"]:
        cfregex.full_match(p, s)
assert "regex" not in sys.modules
cfregex.compile(r"(?<=a)b").search("ab")
assert "regex" in sys.modules
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
