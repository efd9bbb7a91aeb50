"""Evaluation edge cases: small policies whose reports cf-agent 3.21 and vigil must agree
on. Each case is written down with the reports cf-agent makes; vigil must make the same,
and where cf-agent is installed it is run too, so the expectation stays true to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.differential import run_both

CASES: dict[str, tuple[str, list[str]]] = {
    # a vars promise that defines its variable is kept (its classes body's kept classes);
    # one whose function fails defines nothing, and the bundle goes on
    "vars_classes_body": (
        """
bundle agent main
{
  vars:
    "a" string => "x", classes => o("a");
    "b" string => "$(nosuch)", classes => o("b");
    "c" slist => { "1", "2" }, classes => o("c");
    "d" string => execresult("/nonexistent/cmd", "noshell"), classes => o("d");
    "e" string => execresult("/bin/true", "noshell"), classes => o("e");
  reports:
    "$(all)";
}
body classes o(p)
{
  promise_kept => { "$(p)_kept" };
  promise_repaired => { "$(p)_repaired" };
  repair_failed => { "$(p)_failed" };
}
bundle agent after { vars: "all" slist => sort(classesmatching("^[a-e]_.*"), "lex");
  reports: "$(all)"; }
body common control { bundlesequence => { main, after }; }
""",
        ["R: $(all)", "R: a_kept", "R: b_kept", "R: c_kept", "R: e_kept"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reports_as_cf_agent_makes_them(tmp_path: Path, name: str) -> None:
    text, expected = CASES[name]
    theirs, ours = run_both(tmp_path, text, "-K")
    assert ours.reports == expected, ours.out
    if theirs is not None:
        assert theirs.reports == expected, theirs.out
