"""bundlesmatching() reads the tags of bundles that have not run, written as a list
or as one string, and (as cf-agent 3.21 does) only its first tag regex counts.
Differential: the same policy through cf-agent and vigil prints the same reports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def reports(out: str) -> list[str]:
    return sorted(ln.strip() for ln in out.splitlines() if ln.strip().startswith("R: "))


@pytest.mark.skipif(shutil.which("cf-agent") is None, reason="cf-agent is not installed")
def test_reports_match_cf_agent(tmp_path: Path) -> None:
    policy = tmp_path / "p.cf"
    policy.write_text(POLICY)
    wd = tmp_path / "cfwd"
    (wd / "inputs").mkdir(parents=True)
    (wd / "bin").symlink_to("/usr/bin")
    (wd / "inputs" / "failsafe.cf").write_text(
        'bundle agent main { }\nbody common control { bundlesequence => { "main" }; }\n'
    )
    env = dict(os.environ, CFENGINE_TEST_OVERRIDE_WORKDIR=str(wd))
    theirs = subprocess.run(
        ["cf-agent", "-Kf", str(policy)], capture_output=True, text=True, env=env, timeout=60
    )
    ours = subprocess.run(
        [sys.executable, "-m", "engine", "agent", "-Kf", str(policy), "-w", str(tmp_path / "v")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reports(ours.stdout + ours.stderr) == reports(theirs.stdout + theirs.stderr)
