"""``vigil agent``'s own reading of plain command lines agrees with argparse's."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.commands.agent import add_arguments, parse_plain

TOKENS = ["-f", "--file", "-w", "--workdir", "-K", "--no-lock", "-I", "--inform", "-v",
          "--verbose", "-n", "--dry-run", "-D", "--define", "-N", "--negate", "-b",
          "--bundlesequence", "-l", "--timestamp", "--started-by", "--output-file",
          "--show-evaluated-classes", "--show-evaluated-vars", "-h", "--", "-KI", "--fil",
          "--file=x", "-fx", "schedule", "forced", "bogus", "a,b", "", "x y", "/tmp/p.cf", "-1"]


def _argparse(argv: list[str]) -> dict[str, object] | None:
    p = argparse.ArgumentParser(prog="vigil agent", exit_on_error=False)
    add_arguments(p)
    try:
        return vars(p.parse_args(argv))
    except (argparse.ArgumentError, SystemExit):
        return None


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=8))
def test_plain_command_lines_parse_as_argparse_parses_them(argv: list[str]):
    plain = parse_plain(argv)
    if plain is not None:
        assert plain == _argparse(argv)


def test_the_usual_command_lines_are_plain():
    for argv in (["-f", "p.cf", "-w", "/w", "-K"], ["-I", "-D", "a,b", "-D", "c", "-N", "x"],
                 ["--started-by", "schedule", "--output-file", "/o", "-b", "main"], []):
        assert parse_plain(argv) == _argparse(argv), argv
    for argv in (["-h"], ["-f"], ["--file=x"], ["-KI"], ["--started-by", "bogus"],
                 ["--show-evaluated-classes"], ["p.cf"]):
        assert parse_plain(argv) is None, argv
