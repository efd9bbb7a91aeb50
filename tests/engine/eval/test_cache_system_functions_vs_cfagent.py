"""``cache_system_functions`` against cf-agent 3.21: by default execresult's first
result (from resolving the vars of every bundle before the bundlesequence) stands
for the whole run; with ``"false"`` each evaluation runs the command again, so a
command sees what earlier bundles made."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.differential import both

POLICY = """
body common control { bundlesequence => { "init", "test" }; @CACHE@ }
bundle agent init { files: "@T@/made/marker" create => "true"; }
bundle agent test {
  vars: "x" string => execresult("/bin/ls @T@/made 2>/dev/null || echo none", "useshell");
  reports: "x=$(x)";
}
"""


@pytest.mark.parametrize("cache", ["", 'cache_system_functions => "false";',
                                   'cache_system_functions => "true";'])
def test_execresult_cached_per_run_unless_told(tmp_path: Path, cache: str) -> None:
    lines, _ = both(tmp_path, POLICY.replace("@CACHE@", cache), lambda t: None)
    want = "R: x=marker" if "false" in cache else "R: x=none"
    assert want in lines
