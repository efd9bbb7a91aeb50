"""A vars promise named ``scope.name``, as cf-agent 3.21 defines it: the variable
``name`` of a scope no bundle has (or of the promise's own bundle); another bundle's
variable may not be set from here ("Remote bundle variable injection")."""

from __future__ import annotations

from pathlib import Path

from tests.differential import run_both

POLICY = """
body common control { bundlesequence => { "init", "t" }; }
bundle agent init
{
  vars:
    "t.x" string => "remote";
    "init.y" string => "self";
    "zz.w" string => "new";
    "zz.l" slist => { "a", "b" };
    "arr[with.dot]" string => "kept";
  reports:
    "init: $(t.x) $(x) $(init.y) $(y) $(zz.w) $(arr[with.dot])";
}
bundle agent t
{
  reports:
    "t: $(t.x) $(x) $(zz.w) $(zz.l) $(init.arr[with.dot])";
}
"""


def test_scoped_names(tmp_path: Path) -> None:
    theirs, ours = run_both(tmp_path, POLICY, "-K")
    expected = ["R: init: $(t.x) $(x) self self new kept", "R: t: $(t.x) $(x) new a kept",
                "R: t: $(t.x) $(x) new b kept"]
    assert ours.reports == expected, ours.out
    assert "   error: Remote bundle variable injection detected!" in ours.out
    assert "   error: Variable identifier 't.x' is not legal" in ours.out
    if theirs is not None:
        assert theirs.reports == expected, theirs.out
        assert "   error: Variable identifier 't.x' is not legal" in theirs.out
