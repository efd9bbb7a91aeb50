"""A local copy_from replaces its destination through the one atomic write: the copy
is staged as ``<dest>.cfnew`` (never through a link of that name), the old file is
kept as ``.cfsaved``, and a copy that fails leaves the destination as it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.promises import files
from engine.promises.base import Outcome

from ..conftest import FakeRun, body, promise


def copy(run: FakeRun, dest: Path, **cf: object) -> Outcome:
    return files.actuate(promise("files", str(dest), copy_from=body("copy_from", **cf)),
                         run).outcome


def test_a_leftover_cfnew_link_is_removed_not_written_through(tmp_path: Path,
                                                              run: FakeRun) -> None:
    src = tmp_path / "src"
    src.write_text("new\n")
    victim = tmp_path / "victim"
    victim.write_text("secret\n")
    dest = tmp_path / "dest"
    (tmp_path / "dest.cfnew").symlink_to(victim)
    assert copy(run, dest, source=str(src)) == Outcome.REPAIRED
    assert dest.read_text() == "new\n"
    assert victim.read_text() == "secret\n"
    assert not os.path.lexists(tmp_path / "dest.cfnew")


def test_a_failed_copy_leaves_the_destination_and_no_temp_file(tmp_path: Path,
                                                               run: FakeRun) -> None:
    src = tmp_path / "fifo"
    os.mkfifo(src)
    dest = tmp_path / "dest"
    dest.write_text("old\n")
    dest.chmod(0o640)
    os.utime(dest, (0, 0))  # older than the source: compare => mtime copies
    assert copy(run, dest, source=str(src)) == Outcome.NOTKEPT
    assert dest.read_text() == "old\n"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest", "fifo"]


def test_preserve_keeps_the_set_id_bits_and_the_backup_the_old_content(tmp_path: Path,
                                                                       run: FakeRun) -> None:
    src = tmp_path / "src"
    src.write_text("new\n")
    src.chmod(0o6755)
    dest = tmp_path / "dest"
    dest.write_text("old\n")
    os.utime(dest, (0, 0))
    assert copy(run, dest, source=str(src), preserve="true") == Outcome.REPAIRED
    assert dest.read_text() == "new\n"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o6755
    assert (tmp_path / "dest.cfsaved").read_text() == "old\n"
    assert not os.path.lexists(tmp_path / "dest.cfnew")
