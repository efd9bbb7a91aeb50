"""engine.atomicwrite.write_atomic: the one atomic write every layer uses."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.atomicwrite import atomic_file, write_atomic


def test_replaces_with_the_exact_mode_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("old")
    old = os.umask(0o077)
    try:
        write_atomic(target, b"new", 0o644)
    finally:
        os.umask(old)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]  # no temp file left


def test_exclusive_never_replaces(tmp_path: Path) -> None:
    target = tmp_path / "key"
    write_atomic(target, b"one", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomic(target, b"two", exclusive=True)
    assert target.read_bytes() == b"one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_like_keeps_the_replaced_files_mode(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, b"new", 0o600, like=target.stat())
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_link_planted_at_the_temp_name_is_removed_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    d = tmp_path / "d"
    d.mkdir()
    (d / "f.cf-after-edit").symlink_to(victim)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        write_atomic("f", b"new", dir_fd=fd, tmp_suffix=".cf-after-edit")
    finally:
        os.close(fd)
    assert victim.read_text() == "keep"
    assert (d / "f").read_bytes() == b"new"
    assert sorted(p.name for p in d.iterdir()) == ["f"]


def test_a_failed_write_raises_the_calls_own_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "f", b"x")


def test_a_streamed_write_is_published_only_when_its_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("old")
    with pytest.raises(ValueError), atomic_file(target) as staged:
        staged.file.write(b"half")
        raise ValueError("the copy did not verify")
    assert target.read_text() == "old"
    with atomic_file(target) as staged:
        staged.file.write(b"new")
        staged.file.flush()
        assert Path(staged.path).read_bytes() == b"new"  # checked by name before publishing
        staged.mode = 0o640  # known only now (a remote file's mode)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
