"""An argument written "@(x)" is the list x only where a function takes a list; where it
takes text, it is the text "@(x)", as cf-agent 3.21 passes it."""

from __future__ import annotations

from pathlib import Path

from tests.cfengine import requires_cfengine
from tests.engine.functions.policy_diff import reports, vigil_output

POLICY = """body common control { bundlesequence => { "main" }; }
bundle agent main
{
  vars:
    "l" slist => { "a", "b" };
    "c" string => canonify("@(l)");
    "j" string => join(",", "@(l)");
    "k" string => string_length("@(l)");
    "u" string => string_upcase("@(l)");
    "n" int => length("@(l)");
    "f" slist => filter("a", "@(l)", "false", "false", 10);
  reports:
    "c=$(c) j=$(j) k=$(k) u=$(u) n=$(n) f=$(f)";
}
"""


@requires_cfengine()
def test_list_references_in_text_parameters_are_text(tmp_path: Path) -> None:
    cf, ours = reports(tmp_path, POLICY)
    assert cf == ["c=__l_ j=a,b k=4 u=@(L) n=2 f=a"]
    assert ours == cf


def test_a_list_given_where_text_is_taken_stops_the_run(tmp_path: Path) -> None:
    """cf-agent 3.21 refuses to go on: ``Fatal CFEngine error: Bad arguments``."""
    out = vigil_output(tmp_path, """body common control { bundlesequence => { "main" }; }
bundle agent main
{
  vars:
    "l" slist => { "a", "b" };
    "y" string => canonify(reverse(l));
  reports:
    "y=$(y)";
}
""")
    assert "canonify(): it takes text as argument 1, and was given a list" in out
    assert "Fatal CFEngine error: Bad arguments" in out
    assert "R: y=" not in out
    assert "object has no attribute" not in out
