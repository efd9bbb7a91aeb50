"""The scan that finds references to a bundle's parameters (and what derives from
them) answers as the alternation regex it replaced: ``[$@][({](names)[)}[.]`` found
anywhere, or the text being one of the names (``^(names)$``)."""

from __future__ import annotations

import itertools
import random
import re

from engine.eval.preeval import _mentions


def _by_regex(text: str, names: set[str]) -> bool:
    alt = "|".join(re.escape(n) for n in sorted(names))
    return re.search(rf"[$@][({{](?:{alt})[)}}\[.]|^(?:{alt})$", text) is not None


def test_cases() -> None:
    names = {"service", "x", "a.b"}
    assert _mentions("$(service)", names)
    assert _mentions("prefix ${service} suffix", names)
    assert _mentions("@(x)", names)
    assert _mentions("$(x[k])", names)
    assert _mentions("$(x.y)", names)
    assert _mentions("$(a.b)", names)
    assert _mentions("service", names)
    assert _mentions("service\n", names)
    assert not _mentions("$(services)", names)
    assert not _mentions("$(this.service)", names)
    assert not _mentions("services", names)
    assert not _mentions("$service", names)


def test_random_texts_agree_with_regex() -> None:
    rng = random.Random(3)
    pieces = ["$", "@", "(", "{", ")", "}", "[", ".", "x", "ab", "a", "\n", " "]
    name_pool = ["x", "ab", "a", "a.b", "x)", "", "ab["]
    for _ in range(3000):
        names = set(rng.sample(name_pool, rng.randint(1, 3)))
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert _mentions(text, names) is _by_regex(text, names), (text, names)
    for combo in itertools.product(["$", "@", "x"], ["(", "{"], ["x", "ab", "a"], [")", "}", "[", ".", "y"]):
        text = "".join(combo)
        assert _mentions(text, {"x", "ab"}) is _by_regex(text, {"x", "ab"}), text
