"""The single-instance lock and pidfile, across real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.daemons import pidfile, procs
from engine.daemons.procs import cmdline_matches


def test_claim_writes_pidfile_and_second_claim_in_another_process_fails(tmp_path: Path) -> None:
    lock = pidfile.claim(tmp_path, "execd")
    try:
        assert pidfile.read_pid(tmp_path, "execd") == __import__("os").getpid()
        assert pidfile.is_locked(tmp_path, "execd")
        code = (
            "import sys; from pathlib import Path; from engine.daemons import pidfile\n"
            f"try:\n    pidfile.claim(Path({str(tmp_path)!r}), 'execd')\n"
            "except pidfile.AlreadyRunning as e:\n    print(e); sys.exit(3)\n"
        )
        cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert cp.returncode == 3 and "already running" in cp.stdout
    finally:
        lock.release()
    assert not pidfile.pidfile_path(tmp_path, "execd").exists()
    assert not pidfile.is_locked(tmp_path, "execd")


def test_lock_dies_with_its_process(tmp_path: Path) -> None:
    code = (
        "from pathlib import Path; from engine.daemons import pidfile\n"
        f"pidfile.claim(Path({str(tmp_path)!r}), 'monitord')\n"
        "import os; os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    # The pidfile is left behind (the process did not clean up) but the lock is free.
    assert pidfile.check(tmp_path, "monitord").state == "stale"
    with pidfile.DaemonLock(tmp_path, "monitord"):
        # Holding the lock and named by the pidfile is what makes a daemon running,
        # whatever its command line (`vigil monitord -F`, here pytest itself).
        assert pidfile.check(tmp_path, "monitord") == pidfile.PidState("running", os.getpid())
        assert pidfile.lock_holder(tmp_path, "monitord") == os.getpid()
    assert pidfile.lock_holder(tmp_path, "monitord") is None


@pytest.mark.parametrize(
    ("argv", "ok"),
    [
        (["/v/bin/python", "-m", "engine", "execd", "-F", "-w", "/tmp/wd"], True),
        (["/v/bin/python", "-m", "engine", "execd", "-F", "-w", "/tmp/wd2"], False),
        (["/v/bin/python", "-m", "engine", "monitord", "-F", "-w", "/tmp/wd"], False),
        (["/v/bin/python", "engine", "execd", "-w", "/tmp/wd"], False),
        (["/v/bin/python", "-m", "engine", "execd", "-F", "-w", "/tmp/wd/"], True),
        (["vi", "engine", "execd"], False),
    ],
)
def test_cmdline_matching(argv: list[str], ok: bool) -> None:
    assert cmdline_matches(argv, "execd", Path("/tmp/wd")) is ok


def test_garbage_pidfile_reads_as_stopped(tmp_path: Path) -> None:
    (tmp_path / "execd.pid").write_text("not a pid\n")
    assert pidfile.read_pid(tmp_path, "execd") is None
    assert pidfile.check(tmp_path, "execd").state == "stopped"
    assert not procs.alive(2**22 + 12345)
