"""bundlesmatching() reads the tags of bundles that have not run, written as a list
or as one string, and (as cf-agent 3.21 does) only its first tag regex counts.
Differential: the same policy through cf-agent and vigil prints the same reports."""

from __future__ import annotations

from pathlib import Path

from tests.cfengine import requires_cfengine
from tests.differential import run_both

POLICY = """bundle agent main {
vars:
  "ab" slist => bundlesmatching("default:t_.*", "a", "b");
  "ba" slist => bundlesmatching("default:t_.*", "b", "a");
  "b" slist => bundlesmatching("default:t_.*", "b");
  "all" slist => bundlesmatching("default:t_.*");
reports:
  "ab $(ab)"; "ba $(ba)"; "b $(b)"; "all $(all)";
}
bundle agent t_ab { meta: "tags" slist => { "a", "b" }; }
bundle agent t_a { meta: "tags" slist => { "a" }; }
bundle agent t_b { meta: "tags" string => "b"; }
bundle agent t_none { }
"""


@requires_cfengine
def test_reports_match_cf_agent(tmp_path: Path) -> None:
    theirs, ours = run_both(tmp_path, POLICY, "-K")
    assert theirs is not None
    assert sorted(ours.reports) == sorted(theirs.reports)
