"""``packages`` promises with a ``package_method``, run by vigil and by cf-agent 3.21.

The "package manager" is the test's own: a listing read from a file and commands
that only append to a log, so nothing on the machine changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cfengine import HAVE_CFENGINE
from tests.differential import run_agent

POLICY = """
body package_method mock
{
  package_changes => "individual";
  package_list_command => "/bin/cat @T@/installed";
  package_list_name_regex => "^(\\S+)\\s";
  package_list_version_regex => "^\\S+\\s(\\S+)\\s";
  package_list_arch_regex => "^\\S+\\s\\S+\\s(\\S+)$";
  package_installed_regex => ".*";
  package_add_command => "/bin/echo >>@T@/log add";
  package_delete_command => "/bin/echo >>@T@/log delete";
  package_update_command => "/bin/echo >>@T@/log update";
  package_verify_command => "/bin/false";
  package_noverify_returncode => "1";
}
body package_method broken
{
  package_list_command => "/bin/cat @T@/installed";
  package_list_version_regex => "^\\S+\\s(\\S+)\\s";
  package_installed_regex => ".*";
  package_add_command => "/bin/true";
}
body classes outcome(p)
{
  promise_kept => { "$(p)_kept" };
  promise_repaired => { "$(p)_repaired" };
  repair_failed => { "$(p)_failed" };
}
body action warn
{
  action_policy => "warn";
}
bundle agent main
{
  packages:
    "present" package_policy => "add", package_method => mock, classes => outcome("present");
    "absent" package_policy => "add", package_method => mock, classes => outcome("absent");
    "old"
      package_policy => "addupdate",
      package_select => ">=",
      package_version => "2.0",
      package_method => mock,
      classes => outcome("old");
    "gone" package_policy => "delete", package_method => mock, classes => outcome("gone");
    "present"
      package_policy => "delete",
      package_architectures => { "arm64" },
      package_method => mock,
      classes => outcome("wrongarch");
    "checked" package_policy => "verify", package_method => mock, classes => outcome("checked");
    "warned"
      package_policy => "add",
      package_method => mock,
      action => warn,
      classes => outcome("warned");
    "x" package_method => broken, classes => outcome("broken");
  reports:
    present_kept.absent_repaired.old_repaired.gone_kept.wrongarch_kept::
      "outcomes ok";
    checked_kept.warned_failed.broken_failed::
      "failures ok";
}
"""


@pytest.mark.parametrize("which", ["vigil", "cf"])
def test_package_method(tmp_path: Path, which: str) -> None:
    if which == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent not installed")
    target = tmp_path / "t"
    target.mkdir()
    (target / "installed").write_text("present 1.0 amd64\nold 1.5 amd64\nchecked 3 amd64\n")
    lines = run_agent(which, POLICY, tmp_path, target)
    assert "R: outcomes ok" in lines, lines
    assert "R: failures ok" in lines, lines
    assert sorted((target / "log").read_text().splitlines()) == ["add absent", "update old"]
    assert any(" warning: Need to repair promise 'warned' by 'installing' package 'warned'" in ln
               for ln in lines)
