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
    # reports with bundle_return_value_index are the called bundle's return values:
    # not printed, put in the caller's useresult array (a fresh set for every call)
    "bundle_return_values": (
        """
body common control { bundlesequence => { main, child("z") }; }
body file control { namespace => "default"; }
bundle agent main
{
  vars:
    "l" slist => { "a", "b" };
  methods:
    "n1" usebundle => child("one"), useresult => "r1";
    "n2" usebundle => child("two"), useresult => "r2";
    "n3" usebundle => child("$(l)"), useresult => "r3";
    "n4" usebundle => child("x"), useresult => "main.r4";
    "n5" usebundle => ns1:child("y"), useresult => "r5";
  reports:
    "r1=$(r1[k_one]) $(r1[fixed]) r2=$(r2[k_one]) $(r2[k_two]) r3=$(r3[fixed])";
    "r4=$(r4[fixed]) r5=$(r5[k])";
}
bundle agent child(g)
{
  reports:
      "$(g)" bundle_return_value_index => "k_$(g)";
      "fixed $(g)" bundle_return_value_index => "fixed";
      "plain $(g)";
}
body file control { namespace => "ns1"; }
bundle agent child(g)
{
  reports:
      "ns $(g)" bundle_return_value_index => "k";
}
""",
        ["R: plain one", "R: plain two", "R: plain a", "R: plain b", "R: plain x",
         # (a report with a reference that stays unresolved is made last)
         "R: r4=fixed x r5=ns y", "R: r1=one fixed one r2=$(r2[k_one]) two r3=fixed b",
         "R: plain z"],
    ),
    # brackets of the reference's own kind balance inside its name (an array index
    # holding parentheses); a list reference may hold a reference in its index
    "nested_brackets_in_references": (
        """
bundle agent main
{
  vars:
    "a[k(1)]" string => "v1";
    "a[k{1}]" string => "v2";
    "a[k(x(y))]" string => "v3";
    "k" string => "k(1)";
    "one[$(k)]" slist => { "one", "two" };
    "two" slist => { "three" };
    "both" slist => { @(one[$(k)]), @(two) };
  reports:
    "$(a[k(1)]) ${a[k{1}]} ${a[k(1)]} $(a[k{1}]) $(a[k(x(y))]) $(a[$(k)])";
    "$(both)";
}
""",
        ["R: v1 v2 v1 v2 v3 v1", "R: one", "R: two", "R: three"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reports_as_cf_agent_makes_them(tmp_path: Path, name: str) -> None:
    text, expected = CASES[name]
    theirs, ours = run_both(tmp_path, text, "-K")
    assert ours.reports == expected, ours.out
    if theirs is not None:
        assert theirs.reports == expected, theirs.out
