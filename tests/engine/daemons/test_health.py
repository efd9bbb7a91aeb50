"""Health issues from real daemons and real files, each with its fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.daemons.execd.daemon import EXPIRE_ENV, read_status
from engine.daemons.health import health, schedule_interval
from engine.daemons.supervise import supervisor
from tests.engine.daemons.conftest import standin, wait_for, write_policy


def _codes(root: Path) -> dict[str, str]:
    return {h.code: h.fix for h in health(root)}


def test_nothing_running_is_scheduler_down(wd: Path) -> None:
    issues = health(wd)
    assert [i.code for i in issues] == ["scheduler_down"]
    assert issues[0].fix == f"vigil up execd -w {wd}"


@pytest.mark.slow
def test_overlapping_runs_and_no_successful_run(wd: Path) -> None:
    write_policy(wd)
    standin(wd, sleep=2.5, exit=1)
    assert supervisor.start(wd, "execd").ok
    wait_for(lambda: (s := read_status(wd)) and s["overlaps_skipped"] >= 1, timeout=10)
    codes = wait_for(lambda: (c := _codes(wd)) and "no_successful_run" in c and c, timeout=10)
    assert "agent_overlap" in codes and "scheduler_down" not in codes
    assert schedule_interval(read_status(wd)) == 1.0


@pytest.mark.slow
def test_killed_run_invalid_policy_and_large_lock_db(wd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXPIRE_ENV, "1")
    (wd / "vigil.toml").write_text("[execd]\ntick_seconds = 1\n[health]\nlock_db_warn_mb = 1\n")
    write_policy(wd)
    standin(wd, sleep=30)
    assert supervisor.start(wd, "execd").ok
    wait_for(lambda: (s := read_status(wd)) and s["killed_runs"] >= 1, timeout=15)
    (wd / "inputs" / "promises.cf").write_text("bundle agent main {\n  reports: \"x\"\n")
    wait_for(lambda: read_status(wd)["policy_ok"] is False, timeout=10)
    with open(wd / "state" / "cf_lock.lmdb", "wb") as fh:
        fh.truncate(2 * 1024 * 1024)
    issues = {h.code: h for h in health(wd)}
    assert "agent_killed" in issues
    assert "promises.cf:" in issues["policy_invalid"].message
    assert "last valid policy keeps running" in issues["policy_invalid"].message
    assert "vigil promises -f" in issues["policy_invalid"].fix
    assert "2.0 MB" in issues["lock_db_large"].message
    assert all(h.fix for h in issues.values())
    os.unlink(wd / "state" / "cf_lock.lmdb")
    assert "lock_db_large" not in _codes(wd)
