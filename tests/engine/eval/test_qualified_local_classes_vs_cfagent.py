"""A class a bundle defines for itself, named with a namespace: cf-agent 3.21 finds the
current bundle's own classes by their bare name whatever namespace the reference
names (``default:x``, ``ns:x``), in guards and in cfengine templates alike."""

from __future__ import annotations

from pathlib import Path

from tests.differential import run_both

POLICY = """
body common control { bundlesequence => { "main", "ns:b" }; }
bundle agent main
{
  classes:
    "x" expression => "any";
  files:
    "$(sys.workdir)/t.tpl" create => "true", edit_line => tpl, edit_defaults => empty;
    "$(sys.workdir)/out" create => "true", edit_template => "$(sys.workdir)/t.tpl",
      edit_defaults => empty;
  vars:
    "got" string => readfile("$(sys.workdir)/out"), if => fileexists("$(sys.workdir)/out");
  reports:
    default:x::
      "qualified local seen";
    x::
      "plain local";
    any::
      "template: $(got)" if => isvariable("got");
}
bundle edit_line tpl
{
  insert_lines:
    "[%CFEngine default:x:: %]
with x
[%CFEngine default:nosuch:: %]
without" insert_type => "preserve_block";
}
body edit_defaults empty { empty_file_before_editing => "true"; edit_backup => "false"; }
body file control { namespace => "ns"; }
bundle agent b
{
  classes:
    "y" expression => "any";
  reports:
    ns:y::
      "ns qualified local seen";
    default:y::
      "default-qualified local seen too";
    default:nosuch::
      "never";
}
"""


def test_qualified_names_find_the_bundle_s_own_classes(tmp_path: Path) -> None:
    theirs, ours = run_both(tmp_path, POLICY, "-K")
    expected = ["R: qualified local seen", "R: plain local", "R: template: with x",
                "R: ns qualified local seen", "R: default-qualified local seen too"]
    assert ours.reports == expected, ours.out
    if theirs is not None:
        assert theirs.reports == expected, theirs.out
