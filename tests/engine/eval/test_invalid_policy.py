"""An invalid policy runs nothing and exits non-zero (cf-agent instead runs its failsafe)."""

import subprocess
import sys
from pathlib import Path

import pytest

BROKEN = {
    "syntax": 'bundle agent __main__ {\n files:\n  "$(sys.workdir)/made" create => "true";\n reports:\n  "x"\n}\n',
    "unknown-bundle": 'body common control { bundlesequence => { "nosuch" }; }\n'
    'bundle agent main { files: "$(sys.workdir)/made" create => "true"; }\n',
    "unknown-attribute": 'bundle agent __main__ { files: "$(sys.workdir)/made" create => "true", frobnicate => "yes"; }\n',
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_invalid_policy_changes_nothing_and_exits_1(tmp_path: Path, kind: str):
    policy = tmp_path / "p.cf"
    policy.write_text(BROKEN[kind])
    wd = tmp_path / "wd"
    out = subprocess.run(
        [sys.executable, "-m", "engine", "agent", "-K", "-f", str(policy), "-w", str(wd)],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 1
    assert not (wd / "made").exists()
    assert f"{policy}:" in out.stdout + out.stderr  # the error names file:line:col
    assert "nothing was run" in out.stdout + out.stderr
