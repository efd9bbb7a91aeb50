"""An iteration where ``$(a[$(k)])`` names nothing (no such entry, or a JSON null)
is skipped, as cf-agent skips it; a plain undefined reference stays as written.
Differential: the same policy through cf-agent and vigil prints the same reports."""

from __future__ import annotations

from pathlib import Path

from tests.cfengine import requires_cfengine
from tests.differential import run_both

POLICY = """bundle agent main {
vars:
  "l" slist => { "a", "b", "c" };
  "v[a]" string => "A";
  "v[c]" string => "C";
  "d" data => parsejson('{"x": "X", "y": null, "z": "Z", "w": [1]}');
  "k" slist => getindices("d");
  "copy[$(l)]" string => "$(v[$(l)])";
  "ci" slist => getindices("copy");
reports:
  "$(l) = $(v[$(l)])";
  "$(k) -> $(d[$(k)])";
  "plain $(l) $(undefined_here)";
  "copied $(ci)";
}
"""


@requires_cfengine
def test_reports_match_cf_agent(tmp_path: Path) -> None:
    theirs, ours = run_both(tmp_path, POLICY, "-K")
    assert theirs is not None
    assert sorted(ours.reports) == sorted(theirs.reports)
