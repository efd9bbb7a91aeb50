"""A policy validated once is not validated again until it, or vigil, changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _agent(wd: Path, policy: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "agent", "-v", "-K", "-w", str(wd),
                           "-f", str(policy)], capture_output=True, text=True, timeout=60)


def test_second_run_skips_validation_and_a_change_brings_it_back(tmp_path: Path) -> None:
    wd, policy = tmp_path / "wd", tmp_path / "p.cf"
    inc = tmp_path / "inc.cf"
    inc.write_text('bundle agent other { reports: "other"; }\n')
    policy.write_text('body common control { inputs => { "inc.cf" }; }\n'
                      'bundle agent main { reports: "hello"; }\n')
    first = _agent(wd, policy)
    assert "R: hello" in first.stdout and "already validated" not in first.stdout
    second = _agent(wd, policy)
    assert "R: hello" in second.stdout and "Policy is already validated" in second.stdout
    # an input file that changes (here: becomes invalid) is validated again
    inc.write_text('bundle agent other { reports: "other" if => nosuchfn("x"); }\n')
    third = _agent(wd, policy)
    assert third.returncode == 1
    assert "unknown function 'nosuchfn'" in third.stdout
    assert "R: hello" not in third.stdout
