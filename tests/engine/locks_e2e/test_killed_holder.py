"""What an agent killed with ``kill -9`` leaves behind, and the next run.

* Its ``lock.<id>`` entry: the holder's PID and start time are stored with it,
  so the next agent sees the holder is gone and takes the lock at once (instead
  of waiting for ``expireafter``, 120 minutes), and ``vigil locks`` calls it stale.
* A ``<file>.cf-after-edit`` temporary: the next edit of that file replaces it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.state.holders import process_start_time
from engine.state.locks import LockData, LockDB, pack
from tests.differential import vigil_argv
from tests.engine.locks_e2e.harness import env_for

POLICY = """
bundle agent main {
 commands:
   "/bin/sh $(sys.workdir)/tmp/job.sh" action => always;
}
body action always { ifelapsed => "0"; }
"""
# Records its PID, then sleeps unless told to stop: the first run is killed while
# it sleeps, the second finishes at once.
JOB = """echo $$ > "$(dirname "$0")/job.pid"
[ -e "$(dirname "$0")/quick" ] && exit 0
exec sleep 60
"""


def _wait_for(path: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _vigil(wd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args, "-w", str(wd)],
                          env=env_for(wd), cwd=wd, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture
def killed_agent(tmp_path: Path) -> Iterator[tuple[Path, Path, int]]:
    """A workdir whose agent was killed with SIGKILL while its command ran:
    (workdir, policy, the dead agent's PID)."""
    wd = tmp_path / "wd"
    (wd / "tmp").mkdir(parents=True)
    (wd / "tmp" / "job.sh").write_text(JOB)
    policy = tmp_path / "policy.cf"
    policy.write_text(POLICY)
    agent = subprocess.Popen(vigil_argv(policy, wd, "-I"), env=env_for(wd), cwd=wd,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    job_pid = None
    try:
        _wait_for(wd / "tmp" / "job.pid")
        job_pid = int((wd / "tmp" / "job.pid").read_text())
        os.kill(agent.pid, signal.SIGKILL)
        assert agent.wait(timeout=30) == -signal.SIGKILL
        yield wd, policy, agent.pid
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        if job_pid is not None:  # the command the killed agent left running
            try:
                os.kill(job_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_lock_of_a_killed_agent_is_released_by_the_next_run(
        killed_agent: tuple[Path, Path, int]) -> None:
    wd, policy, dead = killed_agent
    listing = _vigil(wd, "locks")
    assert listing.returncode == 0, listing.stderr
    [row] = [ln for ln in listing.stdout.splitlines() if "job_sh" in ln]
    assert f"stale (PID {dead} is gone)" in row and "released by the next run" in row
    as_json = json.loads(_vigil(wd, "locks", "--json").stdout)
    [info] = [i for i in as_json["locks"] if i["kind"] == "lock"]
    assert info["holder_pid"] == dead and info["holder_gone"] is True

    (wd / "tmp" / "quick").touch()
    (wd / "tmp" / "job.pid").unlink()
    second = subprocess.run(vigil_argv(policy, wd, "-v"), env=env_for(wd), cwd=wd,
                            capture_output=True, text=True, timeout=60, check=False)
    out = second.stdout + second.stderr
    assert second.returncode == 0, out
    assert f"Lock holder pid {dead} is gone; releasing its lock: lock.main.commands." in out
    assert "Completed execution of '/bin/sh" in out
    assert (wd / "tmp" / "job.pid").exists()  # the command ran
    after = json.loads(_vigil(wd, "locks", "--json").stdout)
    assert [i for i in after["locks"] if i["kind"] == "lock"] == []  # released at the end


def test_live_holder_keeps_its_lock_and_a_reused_pid_does_not(tmp_path: Path) -> None:
    """A holder that is alive with the stored start time keeps the lock; the same
    PID with another start time is a different process: the lock is taken."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = process_start_time(sleeper.pid)
        assert start is not None
        db = LockDB.open(tmp_path / "cf_lock.lmdb", purge=False)
        try:
            now = int(time.time())
            for name, holder_start in (("live", start), ("reused", start + 1000)):
                db.store.write(lambda txn, n=name, s=holder_start: txn.put(
                    f"lock.{n}\0".encode(), pack(LockData(sleeper.pid, now - 60, s))))
            live = db.acquire("live", 0, 120)
            assert not live.acquired and live.reason is not None
            assert live.reason.value == "already_running"
            reused = db.acquire("reused", 0, 120)
            assert reused.acquired and reused.detail == f"lock holder PID {sleeper.pid} was gone"
        finally:
            db.close()
    finally:
        sleeper.kill()
        sleeper.wait()


EDIT = """
bundle agent main {
 files:
   "$(sys.workdir)/tmp/motd" edit_line => greet;
}
bundle edit_line greet { insert_lines: "hello"; }
"""


@pytest.mark.parametrize("leftover", ["file", "fifo", "symlink"])
def test_next_edit_replaces_a_leftover_after_edit_file(tmp_path: Path, leftover: str) -> None:
    """An edit interrupted between writing ``<file>.cf-after-edit`` and renaming
    it leaves that file; the next edit of the file unlinks it (never follows or
    opens it) and writes its own."""
    wd = tmp_path / "wd"
    (wd / "tmp").mkdir(parents=True)
    target = wd / "tmp" / "motd"
    target.write_text("welcome\n")
    stale = wd / "tmp" / "motd.cf-after-edit"
    victim = tmp_path / "victim"
    if leftover == "file":
        stale.write_text("half an edit")
    elif leftover == "fifo":
        os.mkfifo(stale)
    else:
        victim.write_text("not to be touched\n")
        stale.symlink_to(victim)
    policy = tmp_path / "edit.cf"
    policy.write_text(EDIT)
    result = subprocess.run(vigil_argv(policy, wd, "-K", "-I"), env=env_for(wd), cwd=wd,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert target.read_text() == "welcome\nhello\n"
    assert not os.path.lexists(stale)
    if leftover == "symlink":
        assert victim.read_text() == "not to be touched\n"
