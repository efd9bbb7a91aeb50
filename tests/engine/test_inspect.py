"""engine.inspect: read models over real LMDB files and run reports."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from engine import inspect
from engine.state.lockname import parse_lock_id
from engine.state.locks import LockData, LockDB, canonify, pack
from engine.state.persistent import PersistentClassDB
from engine.state.runs import PromiseRecord, RunReport, report_name, write_run_report
from engine.workdir import Workdir
from tests.cfengine import make_workdir, requires_cfengine
from tests.differential import run_cf

NOW = 1_795_320_000.0
ID_A = "my_web_bundle.files.create.touch.action_name.action.ifelapsed.-vm._etc_motd_8014_MD5=aa"
ID_B = "other.reports.-vm.hello_world_1244_MD5=bb"
ID_C = "other.commands.-vm._bin_sleep_100_3172_MD5=cc"


@pytest.fixture
def wd(tmp_path: Path) -> Workdir:
    return Workdir(tmp_path / "wd").ensure()


def _report(wd: Workdir, start: float, records: list[PromiseRecord], classes: list[str],
            pid: int = 4321) -> RunReport:
    r = RunReport(id=report_name(start, pid), start=start, end=start + 2.0, pid=pid,
                  policy_file=str(wd.promises_cf), policy_hash="h", flags=["-I"],
                  started_by="manual", exit_code=0, interrupted=False, policy_error=None,
                  counts={"kept": 1, "skipped": 1, "skipped_locked": 1}, classes=classes,
                  negated=["nope"], promises=records, output_file=None)
    write_run_report(wd.runs, r)
    return r


def test_parse_lock_id():
    p = parse_lock_id(ID_A)
    assert (p.bundle, p.promise_type, p.host, p.promiser, p.digest) == (
        "my_web_bundle", "files", "vm", "_etc_motd", "aa")
    assert p.lvals == ("create", "touch", "action_name", "action", "ifelapsed")
    p = parse_lock_id(
        "package_global.package_global.-vm.new_packages_promise_lock_7744_MD5=69cf")
    assert (p.bundle, p.promise_type, p.promiser, p.lvals) == (
        "package_global", "package_global", "new_packages_promise_lock", ())
    p = parse_lock_id("odd")
    assert (p.bundle, p.promise_type) == ("odd", "")
    p = parse_lock_id("b.t.l1.-h.cut_short_hash")  # a name cut to fit LMDB
    assert (p.bundle, p.promise_type, p.lvals, p.host, p.promiser) == (
        "b", "t", ("l1",), "h", "cut_short_hash")


def test_ready_in_follows_cf_agents_rule():
    assert inspect.ready_in(NOW - 59, 1, NOW) == 1.0
    assert inspect.ready_in(NOW - 60, 1, NOW) == 0.0
    assert inspect.ready_in(NOW - 10, 60, NOW) == 3590.0
    assert inspect.ready_in(NOW - 10, 0, NOW) == 0.0
    assert inspect.ready_in(None, 5, NOW) == 0.0


def test_locks_merge_database_and_run_reports(wd: Workdir):
    db = LockDB.open(wd.lock_db, now=NOW)
    for lock_id in (ID_A, ID_B):
        db.acquire(lock_id, 1, 120, now=NOW - 600)
        db.release(lock_id, now=NOW - 600)
    db.store.write(lambda t: t.put(f"lock.{ID_C}\0".encode(),
                                   pack(LockData(999_999, int(NOW) - 300, 5))))
    db.close()
    rec = PromiseRecord("my_web_bundle", "files", "/etc/motd", str(wd.promises_cf), 12, 5,
                        "repaired", None, "", ID_A, 60, 30, None)
    _report(wd, NOW - 600, [rec], ["any"])
    snap = inspect.locks(wd, now=NOW)
    assert snap.healthy and snap.error is None
    assert snap.entries == 4 and snap.map_size == 104857600  # 2 last, 1 lock, lock_horizon
    by_id = {lk.id: lk for lk in snap.locks}
    a = by_id[ID_A]
    assert (a.promiser, a.file, a.line) == ("/etc/motd", str(wd.promises_cf), 12)
    assert (a.ifelapsed_min, a.expireafter_min, a.kind) == (60, 30, "last")
    assert a.last_done == NOW - 600 and a.ready_in_seconds == 3000.0
    b = by_id[ID_B]
    assert (b.bundle, b.promise_type, b.promiser, b.file) == ("other", "reports", "hello_world",
                                                              None)
    assert (b.ifelapsed_min, b.expireafter_min, b.ready_in_seconds) == (1, 120, 0.0)
    c = by_id[ID_C]
    assert (c.kind, c.holder_pid, c.held_since) == ("lock", 999_999, NOW - 300)
    assert c.expires_in_seconds == 120 * 60 - 300
    assert snap.horizon == NOW


def test_locks_of_missing_and_damaged_databases(wd: Workdir):
    snap = inspect.locks(wd)
    assert snap.healthy and snap.locks == [] and snap.db_size_bytes == 0
    wd.lock_db.write_bytes(b"\0" * 8192)
    snap = inspect.locks(wd)
    assert not snap.healthy and snap.error
    assert wd.lock_db.read_bytes() == b"\0" * 8192  # readers never repair


def test_persistent_classes(wd: Workdir):
    db = PersistentClassDB.open(wd.state_db)
    db.save("gone", 1, now=NOW - 3600)
    db.save("cool_down", 10, "preserve", ["source=promise", "x"], now=NOW - 60)
    db.close()
    got = inspect.persistent_classes(wd, now=NOW)
    assert [(p.name, p.remaining_seconds, p.policy, p.tags) for p in got] == [
        ("cool_down", 540.0, "preserve", ["source=promise", "x"])]


def test_runs_and_run_detail(wd: Workdir):
    older = _report(wd, NOW - 3600, [], ["a"], pid=1)
    newer = _report(wd, NOW - 60, [PromiseRecord("m", "reports", "hi", "f", 1, 1, "kept")],
                    ["b", "linux"], pid=2)
    got = inspect.runs(wd)
    assert [r.id for r in got] == [newer.id, older.id]
    assert got[0].duration == 2.0 and got[0].counts["skipped_locked"] == 1
    assert inspect.runs(wd, limit=1)[0].id == newer.id
    assert inspect.run_report(wd, newer.id) == newer
    assert inspect.run_report(wd, "latest") == newer
    assert inspect.run_report(wd, older.id[:-2]) == older  # unique prefix
    assert inspect.run_report(wd, "2") is None  # ambiguous prefix
    snap = inspect.classes(wd)
    assert snap.soft == ["b", "linux"] and snap.negated == ["nope"] and snap.run_id == newer.id
    assert "any" in snap.hard or snap.hard == []


def test_reading_never_blocks_a_writer(wd: Workdir):
    db = LockDB.open(wd.lock_db)
    db.acquire(ID_A, 1, 120)
    t = time.perf_counter()
    snap = inspect.locks(wd)  # same process: shares the open environment
    db.release(ID_A)
    db.close()
    assert [lk.id for lk in snap.locks] == [ID_A] and snap.locks[0].holder_pid == os.getpid()
    assert time.perf_counter() - t < 1.0


CF_POLICY = """
body common control { bundlesequence => { "demo_bundle" }; }
body action hourly { ifelapsed => "60"; }
body classes keep { promise_repaired => { "kept_a_while" }; persist_time => "10"; }
bundle agent demo_bundle {
 files:
   "$(sys.workdir)/marker" create => "true", action => hourly, classes => keep;
 reports:
   "hello report";
}
"""


@requires_cfengine
def test_reads_a_real_cfengine_workdir(tmp_path: Path):
    root = make_workdir(tmp_path / "cfwd")
    policy = tmp_path / "p.cf"
    policy.write_text(CF_POLICY)
    proc = run_cf(policy, root, "-I")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wd = Workdir(root, cfengine=True)
    snap = inspect.locks(wd)
    assert snap.healthy and snap.map_size == 104857600
    mine = [lk for lk in snap.locks if lk.bundle == "demo_bundle"]
    assert sorted((lk.promise_type, lk.promiser) for lk in mine) == [
        ("files", canonify(f"{root}/marker")),
        ("reports", "hello_report"),
    ]
    assert all(lk.kind == "last" and lk.last_done for lk in mine)
    # the agent ran a policy outside inputs/: no promise to match, so unknown, not 1 min
    assert all(lk.ready_in_seconds is None and lk.ifelapsed_min is None for lk in mine)
    assert all("no policy at" in lk.note for lk in mine)
    pcs = inspect.persistent_classes(wd)
    assert [p.name for p in pcs] == ["kept_a_while"]
    assert 540 <= pcs[0].remaining_seconds <= 600 and pcs[0].policy == "reset"
    runs = inspect.runs(wd)  # only promise_summary.log: percentages, no exit code
    assert len(runs) == 1 and runs[0].exit_code is None and runs[0].percents
