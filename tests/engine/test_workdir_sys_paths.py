"""Workdir.sys_paths: the sys.* directories and policy paths are cf-agent 3.21's for
the same workdir (the agent, the policy loader and serverd all read them there)."""

from __future__ import annotations

from pathlib import Path

from engine.workdir import Workdir
from tests.cfengine import requires_cfengine
from tests.differential import run_cf

NAMES = ("workdir", "inputdir", "libdir", "local_libdir", "masterdir", "statedir", "logdir",
         "piddir", "bindir", "default_policy_path", "failsafe_policy_path", "update_policy_path")


@requires_cfengine
def test_same_as_cf_agent(tmp_path: Path) -> None:
    wd = tmp_path / "cfwd"
    policy = tmp_path / "p.cf"
    policy.write_text("bundle agent main {\nreports:\n"
                      + "".join(f'  "{n}=$(sys.{n})";\n' for n in NAMES) + "}\n")
    out = run_cf(policy, wd, "-K", timeout=60).stdout
    theirs = dict(line[3:].split("=", 1) for line in out.splitlines() if line.startswith("R: "))
    assert theirs == Workdir(wd).sys_paths()
