"""A full disk: state writes fail, the run goes on and says what was not recorded.

The workdir (or its ``state`` directory) is a 300 KiB tmpfs, filled up before
the run. Needs root to mount; skipped otherwise.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.state.runs import list_reports, load_report

ROOT = Path(__file__).resolve().parents[3]
COMMANDS = 20
CLASSES = 10


def _policy(out: Path) -> str:
    lines = ["bundle agent main {", "commands:"]
    lines += [f'  "/bin/sh -c \'echo {i} >> {out}\' # promise {i:03d} with a long enough name"'
              " action => always;" for i in range(COMMANDS)]
    lines.append("classes:")
    lines += [f'  "kept_{i:03d}" expression => "any", persistence => "10";' for i in range(CLASSES)]
    lines += ['reports: "done";', "}", 'body action always { ifelapsed => "0"; }']
    return "\n".join(lines) + "\n"


def _mount_tmpfs(where: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(where)],
                          capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")


def _unmount(where: Path) -> None:
    proc = subprocess.run(["umount", str(where)], capture_output=True, timeout=30, check=False)
    if proc.returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)


def _fill(where: Path) -> None:
    """Write until the file system says no space is left."""
    fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0")
    finally:
        os.close(fd)
    assert os.statvfs(where).f_bavail == 0


def vigil(wd: Path, policy: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(wd), "LC_ALL": "C",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "engine", "agent", "-f", str(policy), "-w",
                           str(wd), *flags], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "mnt"
    _mount_tmpfs(where)
    try:
        yield where
    finally:
        _unmount(where)


def _warm_up(wd: Path, tmp_path: Path) -> None:
    warm = tmp_path / "warm.cf"
    warm.write_text('bundle agent main { reports: "warm"; }\n')
    first = vigil(wd, warm)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (wd / "state" / "cf_lock.lmdb").exists()


def _check_ran_and_said_so(result: subprocess.CompletedProcess[str], out: Path) -> list[str]:
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    assert result.returncode == 0, text
    assert sorted(int(x) for x in out.read_text().split()) == list(range(COMMANDS))
    assert "R: done" in text
    errors = [ln for ln in text.splitlines() if ln.startswith("   error:")]
    assert any("Could not record lock." in ln and "No space left on device" in ln
               for ln in errors), text
    assert any("Could not record persistent class 'kept_000'" in ln for ln in errors), text
    # the end of the run says what could not be recorded
    assert any(ln.startswith("   error: ") and "state changes could not be recorded in '" in ln
               and "cf_lock.lmdb' (mdb_txn_commit: No space left on device)" in ln
               for ln in errors), text
    return errors


def test_full_workdir_state_writes_fail_run_goes_on(tmpfs: Path, tmp_path: Path) -> None:
    wd = tmpfs
    _warm_up(wd, tmp_path)
    policy = tmp_path / "p.cf"
    out = tmp_path / "ran.txt"
    policy.write_text(_policy(out))
    _fill(wd)
    errors = _check_ran_and_said_so(vigil(wd, policy, "-I"), out)
    assert errors[-1] == "   error: Could not write the run report: " \
                         "[Errno 28] No space left on device"


def test_full_state_directory_run_report_still_written(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    _mount_tmpfs(wd / "state")
    try:
        _warm_up(wd, tmp_path)
        policy = tmp_path / "p.cf"
        out = tmp_path / "ran.txt"
        policy.write_text(_policy(out))
        _fill(wd / "state")
        _check_ran_and_said_so(vigil(wd, policy, "-I"), out)
        report = load_report(list_reports(wd / "outputs" / "runs")[0])
        assert report.exit_code == 0 and report.counts["repaired"] >= COMMANDS
    finally:
        _unmount(wd / "state")


def test_full_disk_before_the_first_run_no_sigbus(tmpfs: Path, tmp_path: Path) -> None:
    """LMDB maps its -lock file; on a full tmpfs an unbacked page of it would
    kill the agent with SIGBUS. The file gets its blocks first, or an error."""
    policy = tmp_path / "p.cf"
    out = tmp_path / "ran.txt"
    policy.write_text(_policy(out))
    (tmpfs / "state").mkdir(mode=0o700)
    _fill(tmpfs)
    result = vigil(tmpfs, policy, "-I")
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    assert "Traceback" not in text
    assert sorted(int(x) for x in out.read_text().split()) == list(range(COMMANDS))
    assert (f"   error: Lock database unavailable, running without locks: "
            f"{tmpfs}/state/cf_lock.lmdb-lock: No space left on device") in text.splitlines()
