"""The /proc reader gives the process table psutil gives, column by column."""

from __future__ import annotations

import subprocess
import time

import psutil
import pytest

from engine.promises.processes import procfs, proctable

pytestmark = pytest.mark.skipif(not procfs.available(), reason="no Linux /proc")

# columns of a sleeping process that cannot change between two reads
STABLE = ("pid", "ppid", "pgid", "user", "uid", "args", "vsize", "rsize", "stime",
          "priority", "threads", "tty", "status")


def test_rows_match_psutil_for_quiet_processes() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        deadline = time.time() + 5
        while psutil.Process(sleeper.pid).status() != "sleeping" and time.time() < deadline:
            time.sleep(0.01)
        ours = {p.pid: p for p in procfs.rows(proctable.Proc)}
        theirs = {p.pid: p for p in proctable._read_psutil()}
    finally:
        sleeper.kill()
        sleeper.wait()
    assert sleeper.pid in ours and sleeper.pid in theirs
    assert list(ours) == sorted(ours)
    for pid in (1, sleeper.pid):
        a, b = ours[pid], theirs[pid]
        for col in STABLE:
            assert getattr(a, col) == getattr(b, col), (pid, col)
    assert ours[sleeper.pid].args == "sleep 30"
    assert set(ours) & set(theirs)


def test_cmdline_split_as_psutil_splits() -> None:
    assert procfs._cmdline("") == []
    assert procfs._cmdline("a\x00b c\x00") == ["a", "b c"]
    assert procfs._cmdline("prog arg1 arg2") == ["prog", "arg1", "arg2"]
    assert procfs._cmdline("prog arg1\x00") == ["prog", "arg1"]  # rewritten title
    assert procfs._cmdline("a\r\nb\x00") == ["a\nb"]


def test_unreadable_files_give_psutils_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process whose /proc files this user may not read stays in the table with the
    values the psutil reader gave for unreadable attributes."""
    sleeper = subprocess.Popen(["sleep", "30"])
    real = procfs._readable
    hidden = f"/proc/{sleeper.pid}/"
    monkeypatch.setattr(procfs, "_readable",
                        lambda path: None if path.startswith(hidden) else real(path))
    try:
        row = {p.pid: p for p in procfs.rows(proctable.Proc)}[sleeper.pid]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert (row.user, row.uid, row.args, row.vsize, row.rsize, row.ttime, row.tty,
            row.status, row.threads, row.ppid) == ("-1", -1, "[]", 0, 0, 0.0, "?", "", 1, 0)
