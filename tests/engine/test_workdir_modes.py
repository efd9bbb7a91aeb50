"""Directories get explicit modes: nothing vigil creates is world-writable under umask 000."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.workdir import Workdir, make_dirs


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def modes(top: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(top.stat().st_mode)}
    for p in top.rglob("*"):
        out[p.relative_to(top).as_posix()] = stat.S_IMODE(p.lstat().st_mode)
    return out


def world_writable(top: Path) -> list[str]:
    return [f"{p} {m:o}" for p, m in modes(top).items() if m & 0o002]


def test_make_dirs_gives_each_new_directory_its_mode(tmp_path: Path, umask_000: None) -> None:
    leaf = make_dirs(tmp_path / "a" / "b" / "c", 0o700)
    assert modes(tmp_path / "a") == {".": 0o755, "b": 0o755, "b/c": 0o700}
    assert make_dirs(leaf, 0o755) == leaf  # an existing directory is left as it is
    assert stat.S_IMODE(leaf.stat().st_mode) == 0o700
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError):
        make_dirs(tmp_path / "file")


def test_workdir_layout_under_umask_000(tmp_path: Path, umask_000: None) -> None:
    wd = Workdir(tmp_path / "new" / "wd").ensure()
    got = modes(tmp_path / "new")
    assert got["."] == 0o755 and got["wd"] == 0o755
    assert {got[f"wd/{d}"] for d in ("inputs", "state", "outputs", "ppkeys", "logs")} == {0o700}
    assert wd.runs.is_dir() and not world_writable(tmp_path / "new")


def test_vigil_key_in_a_new_workdir_under_umask_000(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "wd"
    cp = subprocess.run(
        [sys.executable, "-m", "engine", "key", "-w", str(root)],
        capture_output=True, text=True, timeout=60, check=False,
        preexec_fn=lambda: os.umask(0),
    )
    assert cp.returncode == 0, cp.stderr
    got = modes(tmp_path / "deep")
    assert got["."] == 0o755 and got["wd"] == 0o755 and got["wd/ppkeys"] == 0o700
    assert not world_writable(tmp_path / "deep"), got


def test_the_watchdog_log_is_private_under_umask_000(tmp_path: Path, umask_000: None) -> None:
    from engine.daemons.supervise.watchdog import _log

    root = tmp_path / "wd"
    _log(root, ["one line"])
    assert modes(root) == {".": 0o755, "logs": 0o700, "logs/watchdog.log": 0o600}
