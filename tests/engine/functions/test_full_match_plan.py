"""The full-match plan decides like the regex engine does: for every pattern and
subject where a plan applies, its verdict (prefilter and, for whole plans, the
answer) is the engine's."""

from __future__ import annotations

import itertools
import random

import pytest

from engine import cfregex
from engine.eval.functions._util import full_match

PATTERNS = [
    "", "^", ".*", "^.*", ".+", "inventory", "^inventory", "default:def.control_server_.*",
    r"default:def\.control_agent_.*", "a.c", "a.c.*", "ab*", "ab*c", "ab+", "a?", "a{2}",
    "a{", "a.*?", "a.*+", "a|abc", "(a|b)c", "x(yz)", r"a\.b", r"a\\b", r"a\d", "a$", "a.*$",
    "[ab]c", "a[bc]", r"\(x\)", "a b", "a#b", "ä.ö", ".", "..", ".*x", r"a\*", r"a\**",
]
SUBJECTS = ["", "a", "ab", "abc", "abbc", "aXc", "aXcdef", "a.b", "a\\b", "a\nc", "a\nc\n",
            "inventory", "inventory_x", "xinventory", "default:def.control_server_port",
            "default:defXcontrol_server_", "default:def.control_agent_x", "ä\nö", "(x)", "a b",
            "a#b", "aa", "a*", "a**", "x", "\n"]


def engine_full_match(pattern: str, s: str) -> bool:
    m = cfregex.compile(pattern, dotall=True, multiline=True).match(s)
    return m is not None and m.end() == len(s)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_plan_agrees_with_engine(pattern: str) -> None:
    plan = cfregex.full_match_plan(pattern)
    for s in SUBJECTS:
        want = engine_full_match(pattern, s)
        assert full_match(pattern, s) is want, (pattern, s)
        if plan is None:
            continue
        if not cfregex.plan_admits(plan, s):
            assert not want, (pattern, s, plan)
        elif plan[2]:
            assert want, (pattern, s, plan)


def test_plans_of_common_shapes() -> None:
    assert cfregex.full_match_plan("inventory") == (("inventory",), 9, "exact")
    assert cfregex.full_match_plan("a.c.*") == (("a", None, "c"), 3, "prefix")
    assert cfregex.full_match_plan(".*") == ((), 0, "prefix")
    assert cfregex.full_match_plan("ab*") == (("a",), 1, "")
    assert cfregex.full_match_plan("a|abc") is None
    assert cfregex.full_match_plan("[ab]c") is None


def test_random_patterns_agree_with_engine() -> None:
    rng = random.Random(7)
    pieces = ["a", "b", ".", r"\.", "*", "+", "?", "{1}", "(", ")", "[ab]", "^", "$", ".*", "\\\\"]
    alphabet = ["a", "b", ".", "\n", "\\"]
    subjects = ["".join(p) for n in range(4) for p in itertools.product(alphabet, repeat=n)]
    checked = 0
    for _ in range(600):
        pattern = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 5)))
        try:
            cfregex.compile(pattern, dotall=True, multiline=True)
        except cfregex.RegexError:
            plan = cfregex.full_match_plan(pattern)
            assert plan is None or not plan[2], pattern  # a decided plan is never left uncompiled wrongly
            continue
        for s in subjects:
            assert full_match(pattern, s) is engine_full_match(pattern, s), (pattern, s)
            checked += 1
    assert checked > 10000


@pytest.mark.parametrize("pattern", PATTERNS)
def test_full_matcher_agrees_with_full_match(pattern: str) -> None:
    from engine.eval.functions._util import full_matcher

    match = full_matcher(pattern)
    for s in SUBJECTS:
        assert match(s) is full_match(pattern, s), (pattern, s)


def test_full_matcher_refuses_a_bad_pattern() -> None:
    from engine.eval.functions._util import full_matcher
    from engine.eval.functions.registry import FunctionError

    with pytest.raises(FunctionError):
        full_matcher("a(")


def test_decided_plans_always_compile() -> None:
    """full_match leaves a pattern the plan decides alone uncompiled: such a pattern
    must be one the engine accepts (so no error is lost)."""
    import string

    chars = list(string.printable) + ["\\" + c for c in string.printable] + ["é", "\x00"]
    for a, b in itertools.product(chars, repeat=2):
        for p in (a + b, "^" + a + b + ".*", a + ".*"):
            plan = cfregex.full_match_plan(p)
            if plan is not None and plan[2]:
                cfregex.compile(p, dotall=True, multiline=True)
