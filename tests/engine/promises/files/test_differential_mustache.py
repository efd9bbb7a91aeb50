"""Mustache (and cfengine) templates on files that are not there yet, refused
``template_data``, broken templates and dry runs: vigil and cf-agent 3.21 on the same
policies, lines and resulting trees compared (vigil alone, against the expectations
written here, where cf-agent is absent)."""

from __future__ import annotations

from pathlib import Path

from tests.differential import both

CREATE_POLICY = """
body common control { bundlesequence => { "t" }; }
body perms m(x) { mode => "$(x)"; rxdirs => "false"; }
body classes cl(p)
{
  promise_repaired => { "$(p)_repaired" };
  promise_kept => { "$(p)_kept" };
  repair_failed => { "$(p)_failed" };
}
bundle edit_line ins { insert_lines: "inserted"; }
bundle agent t
{
  vars:
    "d" data => '{ "name": "Lars" }';
    "p" slist => { "valid", "broken", "forced", "refused", "notpl", "empty", "perm",
                   "cft", "cftmissing", "edl", "notjson", "inl" };
    "o" slist => { "kept", "repaired", "failed" };
  files:
    "@T@/valid" template_method => "mustache", edit_template => "@T@/good.tpl",
      template_data => @(d), classes => cl("valid");
    "@T@/broken" template_method => "mustache", edit_template => "@T@/bad.tpl",
      template_data => @(d), classes => cl("broken");
    "@T@/forced" create => "true", template_method => "mustache",
      edit_template => "@T@/bad.tpl", template_data => @(d), classes => cl("forced");
    "@T@/refused" create => "false", template_method => "mustache",
      edit_template => "@T@/good.tpl", template_data => @(d), classes => cl("refused");
    "@T@/notpl" template_method => "mustache", edit_template => "@T@/nothere.tpl",
      template_data => @(d), classes => cl("notpl");
    "@T@/empty" template_method => "inline_mustache", edit_template_string => "",
      template_data => @(d), classes => cl("empty");
    "@T@/perm" template_method => "inline_mustache", edit_template_string => "Hi {{name}}",
      template_data => @(d), perms => m("640"), classes => cl("perm");
    "@T@/cft" edit_template => "@T@/plain.tpl", classes => cl("cft");
    "@T@/cftmissing" edit_template => "@T@/nothere.tpl", classes => cl("cftmissing");
    "@T@/edl" template_method => "mustache", edit_template => "@T@/good.tpl",
      template_data => @(d), edit_line => ins, classes => cl("edl");
    "@T@/notjson" create => "true", template_method => "inline_mustache",
      edit_template_string => "x", template_data => "plain", classes => cl("notjson");
    "@T@/inl" template_method => "inline_mustache", edit_template_string => "{{#o}}x{{/o}} {{name",
      template_data => @(d), classes => cl("inl");
  reports:
    "C: $(p)_$(o)" if => "$(p)_$(o)";
}
"""


def _templates(t: Path) -> None:
    (t / "good.tpl").write_text("Hello {{{name}}}\n")
    (t / "bad.tpl").write_text("Hello {{{name")
    (t / "plain.tpl").write_text("plain line\n")


def test_templates_create_the_file_only_once_rendered(tmp_path: Path) -> None:
    lines, files = both(tmp_path, CREATE_POLICY, _templates,
                        drop=lambda ln: "Error parsing JSON expression" in ln)
    assert files["valid"] == ("0600", "Hello Lars\n")
    assert files["valid.cf-before-edit"] == ("0600", "")
    assert files["empty"] == ("0600", "")  # an empty rendering still makes the file
    assert files["perm"] == ("0640", "Hi Lars")
    assert files["cft"][1] == "plain line\n"
    assert files["forced"] == ("0600", "")  # created, then the rendering failed
    for absent in ("broken", "refused", "notpl", "cftmissing", "edl", "notjson", "inl"):
        assert absent not in files
    assert "   error: Broken mustache template, couldn't find end tag for quoted begin tag " \
           "at '       Hello {{{name'..." in lines
    assert "   error: Error rendering mustache template '<T>/bad.tpl'" in lines
    assert "   error: Broken Mustache template, could not find end delimiter after reading " \
           "start delimiter at '              {{name'..." in lines
    assert "   error: Error rendering mustache template '{{#o}}x{{/o}} {{name'" in lines
    assert "   error: No template data for the promise '<T>/notjson'" in lines
    assert "   error: Unable to open template file '<T>/nothere.tpl' to make '<T>/cftmissing'" \
        in lines
    assert "   error: File '<T>/edl' was marked for editing but could not be opened" in lines
    reports = [ln for ln in lines if ln.startswith("R: C: ")]
    assert reports == [f"R: C: {c}" for c in (
        "valid_kept", "valid_repaired", "broken_failed", "forced_repaired", "forced_failed",
        "refused_kept", "notpl_failed", "empty_kept", "empty_repaired", "perm_kept",
        "perm_repaired", "cft_repaired", "cftmissing_failed", "edl_failed", "notjson_failed",
        "inl_failed")]


NO_DATA_POLICY = """
body common control { bundlesequence => { "t" }; }
body classes cl(p) { repair_failed => { "$(p)_failed" }; promise_repaired => { "$(p)_repaired" }; }
bundle agent t
{
  files:
    "@T@/nodata" create => "true", template_method => "mustache",
      edit_template => "@T@/good.tpl", template_data => @(undefined), classes => cl("nodata");
  reports:
    nodata_failed::
      "nodata failed";
    nodata_repaired::
      "nodata repaired";
}
"""


def test_undefined_template_data_is_refused_before_creating(tmp_path: Path) -> None:
    lines, files = both(tmp_path, NO_DATA_POLICY, _templates)
    assert "nodata" not in files  # never rendered from datastate() instead
    assert lines == ["   error: No template data for the promise '<T>/nodata'",
                     "   error: Errors encountered when actuating files promise '<T>/nodata'",
                     "R: nodata failed"]


DRY_POLICY = """
body common control { bundlesequence => { "t" }; }
@DRY@
bundle agent t
{
  vars:
    "d" data => '{ "name": "Lars" }';
  files:
    "@T@/new" template_method => "inline_mustache", edit_template_string => "Hi {{name}}",
      template_data => @(d);
    "@T@/old" template_method => "mustache", edit_template => "@T@/good.tpl",
      template_data => @(d);
    "@T@/cft" edit_template => "@T@/plain.tpl";
}
"""


def _old_file(t: Path) -> None:
    _templates(t)
    (t / "old").write_text("before\n")


def test_body_agent_control_dryrun_writes_nothing(tmp_path: Path) -> None:
    policy = DRY_POLICY.replace("@DRY@", 'body agent control { dryrun => "true"; }')
    lines, files = both(tmp_path, policy, _old_file)
    assert files["old"] == ("0644", "before\n") and "new" not in files and "cft" not in files
    assert " warning: Should update rendering of '<T>/new' from mustache template 'inline'" \
        in lines
    assert " warning: Should update rendering of '<T>/old' from mustache template " \
           "'<T>/good.tpl'" in lines
    assert "   error: Failed to create file '<T>/cft' for rendering cfengine template " \
           "'<T>/plain.tpl'" in lines


def test_dry_run_option_writes_nothing(tmp_path: Path) -> None:
    policy = DRY_POLICY.replace("@DRY@", "")
    lines, files = both(tmp_path, policy, _old_file, args=("-n",))
    assert files["old"] == ("0644", "before\n") and "new" not in files
    assert " warning: Should update rendering of '<T>/new' from mustache template 'inline'" \
        in lines
