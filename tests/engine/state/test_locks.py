"""LockDB: cf-agent's ifelapsed / expireafter rules on a real LMDB file."""

from __future__ import annotations

import os
import struct
import subprocess
import time
from pathlib import Path

import pytest

from engine.state.holders import process_start_time
from engine.state.lmdbcheck import check
from engine.state.lmdbstore import reading
from engine.state.locks import HORIZON_KEY, PURGE_INTERVAL, LockData, LockDB, Refusal, pack, unpack
from tests.cfengine import make_workdir, requires_cfengine
from tests.differential import run_cf

NAME = "main.files.create.-vm._tmp_x_1234_MD5=0123456789abcdef0123456789abcdef"
T0 = 1_795_320_000


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def error(self, msg: str) -> None:
        self.lines.append(("error", msg))

    def info(self, msg: str) -> None:
        self.lines.append(("info", msg))

    def verbose(self, msg: str) -> None:
        self.lines.append(("verbose", msg))

    def texts(self, level: str) -> list[str]:
        return [m for lv, m in self.lines if lv == level]


def raw_entries(path: Path) -> dict[bytes, bytes]:
    with reading(path) as txn:
        assert txn is not None
        return {bytes(k): bytes(v) for k, v in txn.cursor()}


@pytest.fixture
def db(tmp_path: Path):
    log = Log()
    d = LockDB.open(tmp_path / "cf_lock.lmdb", log=log, now=T0)
    yield d
    d.close()


def test_first_acquisition_writes_last_and_lock_in_cfengine_format(db: LockDB):
    d = db.acquire(NAME, 1, 120, now=T0)
    assert d.acquired and d.reason is None and d.last_time is None
    raw = raw_entries(db.path)
    last = raw[f"last.{NAME}\0".encode()]
    lock = raw[f"lock.{NAME}\0".encode()]
    assert len(last) == 24 and len(lock) == 24
    pid, when, start = struct.unpack("<i4xqq", lock)
    assert (pid, when) == (os.getpid(), T0)
    assert start == process_start_time(os.getpid()) and start > 0
    assert struct.unpack("<i4xqq", last)[1] == T0  # written at once, as cf-agent does
    assert HORIZON_KEY in raw


def test_release_records_completion_and_drops_the_lock(db: LockDB):
    db.acquire(NAME, 1, 120, now=T0)
    db.release(NAME, now=T0 + 7)
    last, lock = db.get(NAME)
    assert lock is None and last is not None and last.time == T0 + 7


def test_ifelapsed_counts_whole_minutes(db: LockDB):
    db.acquire(NAME, 1, 120, now=T0)
    db.release(NAME, now=T0)
    d = db.acquire(NAME, 1, 120, now=T0 + 59)
    assert not d.acquired and d.reason is Refusal.LOCKED
    assert d.detail == "0/1 minutes elapsed" and d.last_time == T0
    assert db.log.texts("verbose")[-1] == (  # type: ignore[union-attr]
        f"Nothing promised here [{('last.' + NAME)[:40]}] (0/1 minutes elapsed)"
    )
    assert db.acquire(NAME, 1, 120, now=T0 + 60).acquired
    db.release(NAME, now=T0 + 60)
    d = db.acquire(NAME, 5, 120, now=T0 + 60 + 299)
    assert d.detail == "4/5 minutes elapsed"
    assert db.acquire(NAME, 5, 120, now=T0 + 60 + 300).acquired


def test_ifelapsed_zero_disables_only_the_last_check(db: LockDB):
    assert db.acquire(NAME, 0, 120, now=T0).acquired
    d = db.acquire(NAME, 0, 120, now=T0)  # still held: lock.* applies
    assert d.reason is Refusal.ALREADY_RUNNING
    assert db.log.texts("verbose")[-1] == (  # type: ignore[union-attr]
        f"Couldn't obtain lock for lock.{NAME} (already running!)"
    )
    db.release(NAME, now=T0)
    assert db.acquire(NAME, 0, 120, now=T0).acquired


def test_completed_after_this_run_started_is_skipped(db: LockDB):
    db.acquire(NAME, 0, 120, now=T0)
    db.release(NAME, now=T0 + 600)
    d = db.acquire(NAME, 0, 120, now=T0)  # the agent passes its start time
    assert d.reason is Refusal.LOCKED


def _sleeper() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["sleep", "60"])
    for _ in range(100):
        if process_start_time(proc.pid) is not None:
            break
        time.sleep(0.01)
    return proc


def _hold(db: LockDB, pid: int, start: int, when: int) -> None:
    db.store.write(lambda t: t.put(f"lock.{NAME}\0".encode(), pack(LockData(pid, when, start))))


def test_expired_lock_kills_its_holder_then_runs(db: LockDB):
    proc = _sleeper()
    try:
        start = process_start_time(proc.pid)
        assert start is not None
        now = int(time.time())
        _hold(db, proc.pid, start, now - 3 * 60 - 5)
        d = db.acquire(NAME, 0, 2, now=now)
        assert d.acquired
        assert proc.wait(timeout=5) is not None
        info = db.log.texts("info")  # type: ignore[union-attr]
        assert f"Lock expired after 3/2 minutes: lock.{NAME}" in info
        assert f"Process with PID {proc.pid} successfully killed" in info
        assert db.get(NAME)[1].pid == os.getpid()  # type: ignore[union-attr]
    finally:
        proc.kill()
        proc.wait()


def test_expired_lock_of_a_reused_pid_kills_nobody(db: LockDB):
    proc = _sleeper()
    try:
        start = process_start_time(proc.pid)
        assert start is not None
        now = int(time.time())
        _hold(db, proc.pid, start + 1000, now - 600)  # same PID, another process
        assert db.acquire(NAME, 0, 2, now=now).acquired
        time.sleep(0.1)
        assert proc.poll() is None, "an unrelated process was killed"
    finally:
        proc.kill()
        proc.wait()


def test_lock_within_expireafter_is_left_alone(db: LockDB):
    proc = _sleeper()
    try:
        start = process_start_time(proc.pid)
        assert start is not None
        now = int(time.time())
        _hold(db, proc.pid, start, now - 60)
        d = db.acquire(NAME, 0, 2, now=now)
        assert d.reason is Refusal.ALREADY_RUNNING and "1/2 minutes" in d.detail
        assert proc.poll() is None
        db.release(NAME, now=now)  # our release must not drop another process's lock
        assert db.get(NAME)[1] == LockData(proc.pid, now - 60, start)
    finally:
        proc.kill()
        proc.wait()


def test_purge_removes_old_last_entries_once_a_day(tmp_path: Path):
    path = tmp_path / "cf_lock.lmdb"
    db = LockDB.open(path, purge=False)
    for i, age_days in enumerate((1, 27, 29, 60)):
        db.acquire(f"b.reports.-h.p{i}_1_MD5=x", 1, 120, now=T0 - age_days * 86400)
        db.release(f"b.reports.-h.p{i}_1_MD5=x", now=T0 - age_days * 86400)
    assert db.maybe_purge(now=T0) == 2  # 29 and 60 days old
    names = [k for k, _ in db.entries()]
    assert sorted(n for n in names if n.startswith("last.")) == [
        "last.b.reports.-h.p0_1_MD5=x", "last.b.reports.-h.p1_1_MD5=x"]
    assert db.horizon() == T0
    assert db.maybe_purge(now=T0 + PURGE_INTERVAL - 1) is None  # not due yet
    assert db.maybe_purge(horizon_seconds=86400, now=T0 + PURGE_INTERVAL) == 2
    db.close()
    assert (tmp_path / "cf_lock.lmdb.backup").is_file()
    assert check(tmp_path / "cf_lock.lmdb.backup", deep=True).ok


def test_clear_by_id_age_and_all(db: LockDB):
    other = NAME.replace("_tmp_x", "_tmp_y")
    db.acquire(NAME, 1, 120, now=T0)
    db.release(NAME, now=T0)
    db.acquire(other, 1, 120, now=T0 + 3600)
    assert sorted(db.clear(NAME)) == [f"last.{NAME}"]
    assert db.get(NAME) == (None, None)
    assert db.get(other)[1] is not None
    assert db.clear_older_than(60, now=T0 + 3600 + 61) and db.get(other) == (None, None)
    db.acquire(NAME, 1, 120, now=T0)
    assert len(db.clear_all()) == 2
    assert [k for k, _ in db.entries()] == ["lock_horizon"]


def test_unpack_accepts_cfengine_values():
    raw = bytes.fromhex("e829000000000000d769026b00000000fe01000000000000")
    assert unpack(raw) == LockData(10728, 1795320279, 510)
    assert pack(LockData(10728, 1795320279, 510)) == raw


def test_ten_thousand_promises_fast(tmp_path: Path):
    """CPU time, not wall time: other load on the machine must not fail this."""
    names = [f"b{i % 40}.files.create.touch.-vm._tmp_f{i}_{i % 8192}_MD5={i:032x}"
             for i in range(10000)]
    db = LockDB.open(tmp_path / "cf_lock.lmdb")
    t = time.process_time()
    for n in names:
        db.acquire(n, 1, 120)
        db.release(n)
    pairs = time.process_time() - t
    t = time.process_time()
    skipped = sum(not db.acquire(n, 1, 120).acquired for n in names)
    locked = time.process_time() - t
    db.close()
    assert skipped == 10000
    assert locked < 0.5, f"10k locked acquisitions took {locked:.3f} s"
    assert pairs < 1.0, f"10k acquire+release took {pairs:.3f} s"


@requires_cfengine("cf-check")
def test_cf_check_reads_our_database(tmp_path: Path):
    path = tmp_path / "cf_lock.lmdb"
    db = LockDB.open(path, now=T0)
    db.acquire(NAME, 1, 120, now=T0)
    db.release(NAME, now=T0 + 5)
    db.close()
    out = subprocess.run(["cf-check", "dump", str(path)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert f'"last.{NAME}": {{"pid":{os.getpid()},' in out.stdout
    assert f'"time":{T0 + 5}}}' in out.stdout
    diag = subprocess.run(["cf-check", "diagnose", str(path)], capture_output=True, text=True,
                          timeout=30)
    assert "OK" in diag.stdout + diag.stderr


POLICY = """
body common control { bundlesequence => { "lk" }; }
bundle agent lk {
 reports:
   "hello from cf-agent";
}
"""


@requires_cfengine
def test_locks_shared_with_cf_agent(tmp_path: Path):
    """cf-agent's entries lock vigil out, and vigil's clear lets cf-agent run again."""
    wd = make_workdir(tmp_path / "cfwd")
    policy = tmp_path / "p.cf"
    policy.write_text(POLICY)
    assert "R: hello from cf-agent" in run_cf(policy, wd, "-I").stdout
    assert "R: hello" not in run_cf(policy, wd, "-I").stdout  # locked for 1 minute
    db = LockDB.open(wd / "state" / "cf_lock.lmdb", purge=False)
    theirs = [k[len("last."):] for k, _ in db.entries()
              if k.startswith("last.lk.reports.")]
    assert len(theirs) == 1
    d = db.acquire(theirs[0], 1, 120)
    assert d.reason is Refusal.LOCKED and d.detail.endswith("/1 minutes elapsed")
    assert db.clear(theirs[0])
    db.close()
    assert "R: hello from cf-agent" in run_cf(policy, wd, "-I").stdout


def test_release_held_on_shutdown(db: LockDB):
    other = NAME.replace("_tmp_x", "_tmp_z")
    db.acquire(NAME, 1, 120, now=T0)
    db.acquire(other, 1, 120, now=T0)
    db.release(other, now=T0 + 1)
    assert db.release_held(now=T0 + 2) == [NAME]
    last, lock = db.get(NAME)
    assert lock is None and last is not None and last.time == T0 + 2
    assert db.release_held() == []
