"""Workdir.sys_paths: the sys.* directories and policy paths are cf-agent 3.21's for
the same workdir (the agent, the policy loader and serverd all read them there)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.workdir import Workdir

NAMES = ("workdir", "inputdir", "libdir", "local_libdir", "masterdir", "statedir", "logdir",
         "piddir", "bindir", "default_policy_path", "failsafe_policy_path", "update_policy_path")


@pytest.mark.skipif(shutil.which("cf-agent") is None, reason="cf-agent is not installed")
def test_same_as_cf_agent(tmp_path: Path) -> None:
    wd = tmp_path / "cfwd"
    (wd / "inputs").mkdir(parents=True)
    (wd / "bin").symlink_to(Path(shutil.which("cf-agent") or "/usr/bin/cf-agent").parent)
    (wd / "inputs" / "failsafe.cf").write_text(
        'bundle agent main { }\nbody common control { bundlesequence => { "main" }; }\n')
    policy = tmp_path / "p.cf"
    policy.write_text("bundle agent main {\nreports:\n"
                      + "".join(f'  "{n}=$(sys.{n})";\n' for n in NAMES) + "}\n")
    env = dict(os.environ, CFENGINE_TEST_OVERRIDE_WORKDIR=str(wd))
    out = subprocess.run(["cf-agent", "-Kf", str(policy)], capture_output=True, text=True,
                         env=env, timeout=60).stdout
    theirs = dict(line[3:].split("=", 1) for line in out.splitlines() if line.startswith("R: "))
    assert theirs == Workdir(wd).sys_paths()
