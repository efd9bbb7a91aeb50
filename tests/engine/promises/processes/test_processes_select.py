"""``processes``: process_result naming the time ranges and process_stop, run by
vigil and by cf-agent 3.21; the process functions find the agent itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cfengine import HAVE_CFENGINE
from tests.differential import run_agent

POLICY = """
body process_count count(p)
{
  in_range_define => { "$(p)_none" };
  out_of_range_define => { "$(p)_some" };
  match_range => irange(0, 0);
}
body process_select all_by_ttime
{
  ttime_range => irange(0, accumulated(9, 0, 0, 0, 0, 0));
  process_result => "ttime";
}
body process_select none_by_ttime
{
  ttime_range => irange(0, accumulated(9, 0, 0, 0, 0, 0));
  process_result => "!ttime";
}
body classes outcome(p)
{
  promise_repaired => { "$(p)_repaired" };
  repair_failed => { "$(p)_failed" };
}
bundle agent main
{
  processes:
    ".*" process_count => count("all"), process_select => all_by_ttime;
    ".*" process_count => count("none"), process_select => none_by_ttime;
    "." process_stop => "/bin/true", classes => outcome("stop_true");
    "." process_stop => "/bin/false", classes => outcome("stop_false");
    "." process_stop => "@T@", classes => outcome("stop_dir");
  reports:
    all_some.none_none::
      "ttime ok";
    stop_true_repaired.stop_false_failed.stop_dir_failed::
      "process_stop ok";
}
"""


@pytest.mark.parametrize("which", ["vigil", "cf"])
def test_process_select_and_stop(tmp_path: Path, which: str) -> None:
    if which == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent not installed")
    target = tmp_path / "t"
    target.mkdir()
    base = tmp_path / "main"
    base.mkdir()
    lines = run_agent(which, POLICY, base, target)
    assert "R: ttime ok" in lines, lines
    assert "R: process_stop ok" in lines, lines


def test_process_functions_find_the_agent(tmp_path: Path) -> None:
    policy = """
bundle agent main
{
  vars:
    "found" data => findprocesses("\\bvigil\\.cf\\b");
  classes:
    "exists" expression => processexists("\\bvigil\\.cf\\b");
  reports:
    exists::
      "self found: $(found[0][pid]) $(this.promiser_pid)";
}
"""
    lines = run_agent("vigil", policy, tmp_path, tmp_path)
    self_line = next(ln for ln in lines if ln.startswith("R: self found: "))
    found, pid = self_line.split(": ", 2)[2].split()
    assert found == pid


RESULT_ONLY_POLICY = """
body process_count count(p)
{
  in_range_define => { "$(p)_some" };
  out_of_range_define => { "$(p)_none" };
  match_range => irange(1, "inf");
}
body process_select only_result { process_result => "process_owner"; }
body process_select negated_result { process_result => "!process_owner"; }
body process_select owner_failing(u)
{
  process_owner => { "$(u)", canonify(getuid("$(u)")) };
  process_result => "process_owner";
}
bundle agent main
{
  processes:
    ".*" process_count => count("only"), process_select => only_result;
    ".*" process_count => count("negated"), process_select => negated_result;
    ".*" process_count => count("failing"), process_select => owner_failing("nosuchuser_vg");
  reports:
    only_none.negated_some.failing_none::
      "absent attributes are false";
}
"""


@pytest.mark.parametrize("which", ["vigil", "cf"])
def test_process_result_naming_an_absent_attribute(tmp_path: Path, which: str) -> None:
    """process_result over an attribute the body does not give, or whose value did
    not resolve (a function failing for an unknown user), selects nothing."""
    if which == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent not installed")
    lines = run_agent(which, RESULT_ONLY_POLICY, tmp_path, tmp_path)
    assert "R: absent attributes are false" in lines, lines


SELF_COUNT_POLICY = """
body process_count count(p)
{
  in_range_define => { "$(p)_some" };
  out_of_range_define => { "$(p)_none" };
  match_range => irange(1, "inf");
}
bundle agent main
{
  processes:
    # the policy file's name is on the agent's own command line only
    "\\\\b(cf|vigil)\\\\.cf\\\\b" process_count => count("self");
    "\\\\b(cf|vigil)\\\\.cf\\\\b" process_count => count("signalled"), signals => { "cont" };
  reports:
    self_some.signalled_none::
      "the agent counts itself, but not when it would signal";
}
"""


@pytest.mark.parametrize("which", ["vigil", "cf"])
def test_the_agent_counts_itself(tmp_path: Path, which: str) -> None:
    if which == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent not installed")
    lines = run_agent(which, SELF_COUNT_POLICY, tmp_path, tmp_path)
    assert "R: the agent counts itself, but not when it would signal" in lines, lines
