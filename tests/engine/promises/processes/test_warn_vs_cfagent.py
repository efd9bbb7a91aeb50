"""processes with ``action_policy => "warn"``: a restart_class that would be defined is
not (the promise is not kept, with a warning), while a dry run alone still defines it;
what a warn-only promise matched is shown. Differential against cf-agent 3.21."""

from __future__ import annotations

from pathlib import Path

from tests.differential import run_both

POLICY = """
bundle agent main
{
  processes:
    "vigil-no-such-process-x"
      restart_class => "restart_x",
      classes => gen("tp"),
      action => warnonly;
    "vigil-no-such-process-y"
      restart_class => "restart_y",
      classes => gen("ty");
}
bundle agent check { vars: "c" slist => sort(classesmatching("(t[py]|restart)_.*"), "lex");
  reports: "$(c)"; }
body common control { bundlesequence => { main, check }; }
body action warnonly { action_policy => "warn"; }
body classes gen(x)
{
  promise_repaired => { "$(x)_repaired" };
  repair_failed => { "$(x)_not_kept" };
  promise_kept => { "$(x)_kept" };
}
"""
WARNING = "Need to keep restart promise for 'vigil-no-such-process-x', but only a warning is promised"


def test_restart_class_under_warn(tmp_path: Path) -> None:
    theirs, ours = run_both(tmp_path, POLICY, "-K")
    assert ours.reports == ["R: restart_y", "R: tp_not_kept", "R: ty_kept"], ours.out
    assert WARNING in ours.out
    if theirs is not None:
        assert theirs.reports == ours.reports
        assert WARNING in theirs.out


def test_a_dry_run_still_defines_the_restart_class(tmp_path: Path) -> None:
    theirs, ours = run_both(tmp_path, POLICY, "-K", "-n")
    assert "Need to repair reports promise: restart_y" in ours.out, ours.out
    assert "restart_x" not in ours.out
    if theirs is not None:
        assert "Need to repair reports promise: restart_y" in theirs.out
        assert "restart_x" not in theirs.out
