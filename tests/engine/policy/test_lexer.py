"""The lexer's tokens, on every Python the project admits (Debian 12's 3.11.2 included)."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pytest

from engine.policy.lexer import tokenize

ROOT = Path(__file__).resolve().parents[3]


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t[0], t[1]) for t in tokenize(text)][:-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("any::", [("G", "any::")]),
        ("linux.!debian::", [("G", "linux.!debian::")]),
        ("(linux|x)&y::", [("G", "(linux|x)&y::")]),
        ("default:any.ns:c::", [("G", "default:any.ns:c::")]),
        ("vars:\n  any::", [("T", "vars:"), ("G", "any::")]),
        ('"$(x)"::', [("S", '"$(x)"'), ("C", "::")]),
        ("bundle agent main", [("I", "bundle"), ("I", "agent"), ("I", "main")]),
        ("default:p", [("I", "default:p")]),
        ("x => y", [("L", "x"), ("I", "y")]),
        ('x => "a\\"b" }', [("L", "x"), ("S", '"a\\"b"'), ("P", "}")]),
        ("'it\\'s' `b\\`", [("S", "'it\\'s'"), ("S", "`b\\`")]),
        ("$(a.b) @(l) ${x[$(i)]}", [("V", "$(a.b)"), ("V", "@(l)"), ("V", "${x[$(i)]}")]),
        ("# c\n  -> =>", [("R", "->"), ("A", "=>")]),
        ('"open', [("X", '"'), ("I", "open")]),
    ],
)
def test_tokens(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


def test_attribute_with_a_string_is_one_token() -> None:
    assert tokenize('  x =>\n "v\\\\" ;') == [
        ("K", "x", 2, '"v\\\\"', 8, ";", 14),
        ("E", "", 15),
    ]


def test_guard_in_a_bundle() -> None:
    from engine.policy.parser import parse_text

    pf = parse_text('bundle agent main\n{\n  reports:\n    any::\n      "x";\n}\n', "t.cf")
    (bundle,) = pf.bundles
    assert [p.guard for p in bundle.promises] == ["any"]


def _possessive(tree: object) -> bool:
    """Whether a parsed pattern holds a possessive repeat or an atomic group."""
    from re import _constants as c  # type: ignore[attr-defined]

    bad = {c.POSSESSIVE_REPEAT, c.ATOMIC_GROUP}
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple | list) or type(node).__name__ == "SubPattern":
            items = list(node.data if hasattr(node, "data") else node)
            if items and isinstance(items[0], int) and items[0] in bad:
                return True
            stack.extend(items)
    return False


def _strings(path: Path) -> list[str]:
    """String constants of a module; an f-string with each field replaced by ``x``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            out.append(
                "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
            )
    return out


@pytest.mark.slow
def test_no_possessive_quantifiers_or_atomic_groups() -> None:
    """Python before 3.11.5 mis-matches them, and ``requires-python`` admits 3.11.2."""
    from re import _parser  # type: ignore[attr-defined]

    found = []
    for path in sorted([*ROOT.glob("engine/**/*.py"), *ROOT.glob("tui/**/*.py")]):
        for s in _strings(path):
            for flags in (0, re.VERBOSE):
                try:
                    with warnings.catch_warnings():
                        # most literals are not regexes; re's hints about them are noise
                        warnings.simplefilter("ignore", FutureWarning)
                        tree = _parser.parse(s, flags)
                except (re.error, RecursionError, OverflowError):
                    continue
                if _possessive(tree):
                    found.append(f"{path.relative_to(ROOT)}: {s[:60]!r}")
                    break
    assert not found
