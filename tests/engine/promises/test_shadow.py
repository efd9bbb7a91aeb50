"""The shadow tree of ``--simulate`` (:mod:`engine.promises.shadow.tree`): what is
mirrored into it, once, and how its paths read back."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.promises.shadow.tree import Shadow


class _Log:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, msg: str) -> None:
        self.errors.append(msg)


def _shadow(tmp_path: Path) -> Shadow:
    state = tmp_path / "wd" / "state"
    state.mkdir(parents=True)
    return Shadow.create(str(state), "manifest", _Log())


def test_a_file_is_mirrored_with_its_attributes(tmp_path: Path) -> None:
    real = tmp_path / "real" / "sub"
    real.mkdir(parents=True)
    real.chmod(0o751)
    f = real / "f"
    f.write_text("content")
    f.chmod(0o640)
    os.utime(f, (1_000_000, 2_000_000))
    sh = _shadow(tmp_path)
    copy = Path(sh.prepare(str(f)))
    assert copy == Path(sh.root + str(f))
    assert copy.read_text() == "content"
    st = copy.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_mtime) == (0o640, 2_000_000)
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o751  # parents keep their mode
    assert sh.real(str(copy)) == str(f)
    assert sh.unshadow(f"Edited '{copy}'") == f"Edited '{f}'"


def test_a_path_is_mirrored_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "f").write_text("x")
    sh = _shadow(tmp_path)
    copy = Path(sh.prepare(str(real / "f")))
    copy.unlink()  # the run deleted it
    sh.prepare(str(real / "f"))
    sh.prepare(str(real))  # its directory, whole, later
    assert not copy.exists()
    assert sh.view(str(real / "f")) == str(copy)  # read where the run left it: gone
    assert sh.view(str(tmp_path / "elsewhere")) == str(tmp_path / "elsewhere")


def test_a_directory_is_mirrored_whole_but_not_the_shadow_itself(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    sh = _shadow(tmp_path)
    (wd / "state" / "x").write_text("x")
    (wd / "inputs").mkdir()
    sh.prepare(str(wd))
    copy = Path(sh.root + str(wd))
    assert sorted(p.name for p in (copy / "state").iterdir()) == ["x"]
    assert (copy / "inputs").is_dir()


def test_a_link_points_into_the_shadow(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "dir").mkdir(parents=True)
    (real / "dir" / "big").write_text("b")
    (real / "file").write_text("f")
    (real / "to-file").symlink_to(real / "file")
    (real / "to-dir").symlink_to(real / "dir")
    (real / "relative").symlink_to("file")
    sh = _shadow(tmp_path)
    for name in ("to-file", "to-dir", "relative"):
        sh.prepare(str(real / name))
    root = sh.root
    assert os.readlink(root + str(real / "to-file")) == root + str(real / "file")
    assert Path(root + str(real / "to-file")).read_text() == "f"  # its target came along
    assert os.readlink(root + str(real / "relative")) == "file"
    # a directory a link leads to is made, what is in it only when reached
    assert Path(root + str(real / "dir")).is_dir()
    assert not Path(root + str(real / "dir" / "big")).exists()


def test_remove_takes_what_the_run_made_unreadable(tmp_path: Path) -> None:
    sh = _shadow(tmp_path)
    d = Path(sh.root) / "x" / "y"
    d.mkdir(parents=True)
    (d / "f").write_text("f")
    d.chmod(0)
    d.parent.chmod(0)
    sh.remove()
    assert not Path(sh.root).exists()
