"""Inline JSON in policy as cf-agent 3.21 reads it: a missing comma between two
elements of an array or object is accepted, two commas in a row are not."""

from __future__ import annotations

from pathlib import Path

from tests.differential import run_both

POLICY = """
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  vars:
    "a" data => parsejson('["a" "b", "c"]');
    "b" data => parsejson('{"x": 1 "y": 2}');
    "c" data => parsejson('["a",, "b"]');
    "d" data => parsejson('[1 2]');
    "e" data => '["a"
 "b", ]';
    "s" string => format("%S", a);
    "t" string => format("%S", b);
    "u" string => format("%S", c);
    "v" string => format("%S", d);
    "w" string => format("%S", e);
  reports:
    "a=$(s) b=$(t) c=$(u) d=$(v) e=$(w)";
}
"""


def test_missing_commas_are_accepted(tmp_path: Path) -> None:
    theirs, ours = run_both(tmp_path, POLICY, "-K")
    expected = ['R: a=["a","b","c"] b={"x":1,"y":2} c=$(u) d=[1,2] e=["a","b"]']
    assert ours.reports == expected, ours.out
    if theirs is not None:
        assert theirs.reports == expected, theirs.out
