"""Variables cf-agent resolves before the bundlesequence: the vars of bundles never
called (without arguments) and the control_<type> variables of control bodies."""

from __future__ import annotations

from pathlib import Path

from bench.masterfiles import parse_names
from tests.cfengine import requires_cfengine
from tests.differential import run_both

POLICY = """
body common control { bundlesequence => { "main" }; ignore_missing_bundles => "false"; }
body agent control { ifelapsed => "7"; abortclasses => { "never_ever" }; }
bundle agent main { vars: "x" string => "main"; }
bundle agent uncalled { vars: "plain" string => "p"; "listed" slist => { "a", "b" };
  "counted" int => length(listed); "arr[k]" string => "v"; }
bundle agent takes(service, state) {
  vars: "fixed" string => "f";
        "uses" string => "$(service)";
        "indirect" string => "$(uses)-x";
        "byname" int => length(uses);
        "later" string => "after";
}
bundle edit_line lines(x) { vars: "e" string => "edit"; "ex" string => "$(x)"; }
"""
INTEREST = ("uncalled", "takes", "lines", "control_")


def _names(text: str) -> set[str]:
    return {n for n in parse_names(text, "vars") if any(f":{b}" in n for b in INTEREST)}


@requires_cfengine
def test_pre_evaluated_vars_match_cf_agent(tmp_path: Path) -> None:
    cf, ours = run_both(tmp_path, POLICY, "-K", "--show-evaluated-vars")
    assert cf is not None
    assert "error:" not in ours.out
    theirs = _names(cf.stdout)
    assert "default:uncalled.plain" in theirs and "default:control_agent.ifelapsed" in theirs
    assert _names(ours.stdout) == theirs


META_POLICY = """
body common control { bundlesequence => { "main" }; }
bundle agent later {
  meta: "skip_when" string => "(never_here|any)", meta => { "ticket" };
        "tags" slist => { "a", "b" };
}
bundle agent main {
  vars: "found" slist => variablesmatching(".*later_meta\\..*");
        "sorted" slist => sort(found, "lex");
  classes: "skip" and => { "$($(sorted))" };
  reports: "found $(sorted)"; skip:: "skip is set";
}
"""


@requires_cfengine
def test_meta_of_bundles_not_yet_run_is_there_as_in_cf_agent(tmp_path: Path) -> None:
    """The suite's test_skip_unsupported: a bundle's meta variables exist before it runs."""
    cf, ours = run_both(tmp_path, META_POLICY, "-K")
    assert cf is not None
    theirs = sorted(line for line in cf.stdout.splitlines() if line.startswith("R: "))
    assert "R: found default:later_meta.skip_when" in theirs, cf.stdout
    assert sorted(line for line in ours.stdout.splitlines() if line.startswith("R: ")) == theirs
