"""Locks between agent processes: several agents at once, and an expired lock.

The expired lock is planted rather than waited for: a ``lock.<id>`` entry
dated ten and a half minutes back, naming a sleeper process this test started
as its holder (with its real start time, so the agent may kill it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lmdb
import pytest

from engine.state.holders import process_start_time
from engine.state.lmdbcheck import check
from engine.state.locks import LockData, pack, unpack
from tests import cfengine
from tests.cfengine import HAVE_CFENGINE
from tests.differential import vigil_argv
from tests.engine.locks_e2e.harness import (
    SamePath,
    dump,
    env_for,
    lock_entries,
    reports_of,
)

RACE = """
body common control { bundlesequence => { "race" }; }
body action hourly { ifelapsed => "60"; }
bundle agent race {
 commands:
   "/bin/sh -c 'echo ran >> $(sys.workdir)/tmp/count.txt; sleep 0.3'" action => hourly;
}
"""
AGENTS = 4


WARM_UP = """
bundle agent __main__ { reports: "warm-up"; }
"""


def test_simultaneous_agents_run_a_command_once(site: SamePath) -> None:
    wd = site.start("vigil")
    # the databases exist already, as on any host after its first run (see
    # test_empty_lock_db_is_a_new_one for a first run of several agents at once)
    site.write_policy(WARM_UP)
    assert site.run().rc == 0
    policy = site.write_policy(RACE)
    procs = [
        subprocess.Popen(vigil_argv(policy, wd, "-I"), env=env_for(wd), cwd=wd,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(AGENTS)
    ]
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        outs.append(out.decode())
        assert p.returncode == 0, out
    assert (wd / "tmp" / "count.txt").read_text() == "ran\n"
    assert sum("Completed execution" in o for o in outs) == 1

    db = wd / "state" / "cf_lock.lmdb"
    health = check(db, deep=True)
    assert health.ok, health.reason
    entries = lock_entries(db, "l")  # last.* and lock.*
    entries.pop(next(k for k in entries if k.startswith("last.main.reports.")))
    assert [k.split(".")[:3] for k in entries] == [["last", "race", "commands"]]
    if cfengine.which("cf-check"):
        diag = subprocess.run(["cf-check", "diagnose", str(db)], capture_output=True, text=True,
                              timeout=30, check=False)
        assert diag.returncode == 0 and "OK" in diag.stdout, diag.stdout + diag.stderr

    outcomes = []
    for report in reports_of(wd):
        outcomes += [(r.outcome, r.skip_reason) for r in report.promises if r.bundle == "race"]
    assert sorted(outcomes).count(("repaired", None)) == 1
    assert len(outcomes) == AGENTS
    assert all(reason in ("locked", "already_running") for o, reason in outcomes
               if o == "skipped")


@pytest.mark.parametrize("kind", ["cf", "vigil"])
def test_empty_lock_db_is_a_new_one(site: SamePath, kind: str) -> None:
    """LMDB initialises an empty file; cf-agent uses it without a word. An agent
    that finds one may be looking at another agent's database being created, so
    it must not move it aside as damaged (that lost the other agent's lock, and
    four agents starting together on a new workdir could run a promise twice):
    see ``tests/engine/state/test_locks_concurrency.py``, 200 such first runs."""
    if kind == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent is not installed")
    site.write_policy(RACE)
    wd = site.start(kind)
    (wd / "state").mkdir(mode=0o700)
    (wd / "state" / "cf_lock.lmdb").touch()
    result = site.run("-I")
    assert result.rc == 0, result.out
    assert (wd / "tmp" / "count.txt").read_text() == "ran\n"
    assert not result.grep("error"), result.out
    assert sorted(p.name for p in (wd / "state").glob("cf_lock.lmdb.corrupt*")) == []
    assert [k.split(".")[:3] for k in lock_entries(wd / "state" / "cf_lock.lmdb", "last.race")] \
        == [["last", "race", "commands"]]


EXPIRING = """
body common control { bundlesequence => { "expdemo" }; }
body action expiring { ifelapsed => "0"; expireafter => "1"; }
bundle agent expdemo {
 commands:
   "/bin/sh $(sys.workdir)/tmp/job.sh" action => expiring;
}
"""


def _plant_expired_lock(db: Path, holder: subprocess.Popen[bytes], age: int) -> str:
    """Write ``lock.<id>`` for the one ``last.expdemo.*`` entry, held by ``holder``
    since ``age`` seconds ago; returns the id."""
    start = process_start_time(holder.pid)
    assert start is not None
    env = lmdb.open(os.fspath(db), subdir=False, map_size=100 * 1024 * 1024)
    try:
        with env.begin(write=True) as txn:
            ids = [bytes(k)[5:] for k, _ in txn.cursor() if bytes(k).startswith(b"last.expdemo.")]
            assert len(ids) == 1, ids
            value = pack(LockData(holder.pid, int(time.time()) - age, start))
            txn.put(b"lock." + ids[0], value)
    finally:
        env.close()
    return ids[0].rstrip(b"\0").decode()


@pytest.mark.parametrize("kind", ["cf", "vigil"])
def test_expired_lock_kills_its_holder_and_runs(site: SamePath, kind: str) -> None:
    if kind == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent is not installed")
    site.write_policy(EXPIRING)
    wd = site.start(kind)
    (wd / "tmp" / "job.sh").write_text('echo ran >> "$(dirname "$0")/out"\n')
    first = site.run("-I")
    assert first.rc == 0 and (wd / "tmp" / "out").read_text() == "ran\n", first.out
    db = wd / "state" / "cf_lock.lmdb"

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(100)"])
    try:
        lock_id = _plant_expired_lock(db, sleeper, age=630)
        before = time.time()
        second = site.run("-I")
        assert sleeper.wait(timeout=10) < 0  # ended by a signal
    finally:
        if sleeper.poll() is None:
            os.kill(sleeper.pid, signal.SIGKILL)
            sleeper.wait()
    assert second.rc == 0, second.out
    assert second.lines[0] == f"    info: Lock expired after 10/1 minutes: lock.{lock_id}"
    assert second.lines[1:] == [
        f"    info: Process with PID {sleeper.pid} successfully killed",
        "    info: Executing 'no timeout' ... '/bin/sh <wd>/tmp/job.sh'",
        "    info: Completed execution of '/bin/sh <wd>/tmp/job.sh'",
    ]
    assert (wd / "tmp" / "out").read_text() == "ran\nran\n"
    raw = dump(db)
    assert f"lock.{lock_id}\0".encode() not in raw  # released after the run
    last = unpack(raw[f"last.{lock_id}\0".encode()])
    assert last is not None and last.pid != sleeper.pid and last.time >= int(before)
    site.park()
