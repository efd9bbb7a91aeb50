"""An iteration where ``$(a[$(k)])`` names nothing (no such entry, or a JSON null)
is skipped, as cf-agent skips it; a plain undefined reference stays as written.
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
