"""regex_replace runs through engine.cfregex: PCRE's syntax (POSIX classes), every
option (g i m s x), group references, and the time limit on a pattern the agent does
not control, with cf-agent's results."""

from __future__ import annotations

import time
from pathlib import Path

from tests.differential import report_lines, run_both

POLICY = r"""bundle agent main {
vars:
  "a" string => regex_replace("Hello World hello", "hello", "X", "gi");
  "b" string => regex_replace("abc abc", "(a)(b)", "\2$1", "");
  "c" string => regex_replace("line1 line2", "\bline", "L", "g");
  "e" string => regex_replace("a.b,c", "[[:punct:]]", "_", "g");
  "f" string => regex_replace("A b", "a # a comment
 \s b", "Z", "ix");
  "g" string => regex_replace("$(long)", "(a|aa)*c", "X", "g");
  "long" string => "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
reports:
  "a=$(a) b=$(b) c=$(c) e=$(e) f=$(f)";
  "g=$(g)";
}
"""


def test_regex_replace_matches_cfagent(tmp_path: Path) -> None:
    started = time.monotonic()
    theirs, ours = run_both(tmp_path, POLICY, "-K")
    assert time.monotonic() - started < 60
    lines = report_lines(ours.stdout)
    assert lines[0] == "R: a=X World X b=bac abc c=L1 L2 e=a_b_c f=Z"
    assert lines[1] == "R: g=" + "a" * 64 + "b"
    if theirs is not None:
        assert report_lines(theirs.stdout) == lines
