"""engine.promises.safefs: lookups that refuse links another user could have planted.

The links are made by root and given to ``nobody`` with ``lchown``, so these need root.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import pytest

from engine.promises import safefs as S

NOBODY = 65534
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="giving a link to another user needs root")


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def link(at: Path, to: Path | str, uid: int = NOBODY, gid: int = NOBODY) -> Path:
    at.symlink_to(to)
    os.lchown(at, uid, gid)
    return at


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    v = tmp_path / "victim"
    v.write_text("secret\n")
    v.chmod(0o600)
    return v


def test_the_ownership_rule() -> None:
    def st(uid: int, gid: int) -> os.stat_result:
        return os.stat_result((0o120777, 0, 0, 1, uid, gid, 0, 0, 0, 0))

    assert S.trusted(st(0, 5), st(7, 7))  # root's link goes anywhere
    assert S.trusted(st(NOBODY, NOBODY), st(NOBODY, NOBODY))  # to its owner's own file
    assert not S.trusted(st(NOBODY, NOBODY), st(0, 0))
    assert not S.trusted(st(NOBODY, NOBODY), st(NOBODY, 0))  # the group must match too


def test_planted_last_link_is_refused_quietly(tmp_path: Path, victim: Path) -> None:
    y = link(tmp_path / "y", victim)
    with pytest.raises(S.LinkSevered) as e:
        S.safe_chmod(str(y), 0o666)
    assert e.value.errno == errno.ENOLINK and e.value.strerror == "Link has been severed"
    assert S.refusal(e.value) is None  # cf-agent's safe_chmod prints nothing of its own
    for call in (lambda: S.safe_chown(str(y), NOBODY, NOBODY), lambda: S.safe_utime(str(y))):
        with pytest.raises(S.LinkSevered):
            call()
    assert mode(victim) == 0o600 and victim.stat().st_uid == 0


def test_planted_directory_link_is_refused_and_named(tmp_path: Path, victim: Path) -> None:
    sub = link(tmp_path / "sub", tmp_path)
    target = sub / "victim"
    with pytest.raises(S.LinkSevered) as e:
        S.safe_chmod(str(target), 0o666)
    assert e.value.announce == str(sub)
    with pytest.raises(S.LinkSevered) as e:
        S.safe_open(str(target), os.O_RDONLY)
    assert S.refusal(e.value) == (
        f"Cannot follow symlink '{target}'; it is not owned by root or the user running this "
        "process, and the target owner and/or group differs from that of the symlink itself.")
    for call in (S.safe_unlink, S.safe_lstat, S.safe_rmdir):
        with pytest.raises(S.LinkSevered):
            call(str(target))
    assert S.parent_refused(str(target)) == str(sub)
    assert victim.exists() and mode(victim) == 0o600


def test_trusted_links_are_followed(tmp_path: Path, victim: Path) -> None:
    rl = link(tmp_path / "rl", victim, 0, 0)
    S.safe_chmod(str(rl), 0o640)
    assert mode(victim) == 0o640
    own = tmp_path / "own"
    own.write_text("x")
    os.chown(own, NOBODY, NOBODY)
    S.safe_chmod(str(link(tmp_path / "ol", own)), 0o604)
    assert mode(own) == 0o604
    rd = link(tmp_path / "rd", tmp_path, 0, 0)
    assert S.safe_lstat(str(rd / "victim")).st_ino == victim.stat().st_ino
    where, st = S.resolve(str(rl))
    with where:
        assert (where.dir, where.name) == (str(tmp_path), "victim")
        assert st.st_ino == victim.stat().st_ino


def test_a_trusted_link_to_a_planted_one_is_refused(tmp_path: Path, victim: Path) -> None:
    planted = link(tmp_path / "planted", victim)
    with pytest.raises(S.LinkSevered):
        S.safe_chmod(str(link(tmp_path / "rl", planted, 0, 0)), 0o666)
    assert mode(victim) == 0o600


def test_loops_stop_after_forty_links(tmp_path: Path) -> None:
    link(tmp_path / "a", "b", 0, 0)
    link(tmp_path / "b", "a", 0, 0)
    with pytest.raises(OSError) as e:
        S.safe_stat(str(tmp_path / "a"))
    assert e.value.errno == errno.ELOOP


def test_exclusive_create_never_follows(tmp_path: Path) -> None:
    dang = link(tmp_path / "dang", tmp_path / "made", 0, 0)
    with pytest.raises(FileExistsError):
        S.safe_open(str(dang), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    assert not (tmp_path / "made").exists()


def test_a_fifo_is_opened_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fd = S.safe_open(str(fifo), os.O_RDONLY)
    os.close(fd)
    with pytest.raises(OSError) as e:  # no reader: refused at once, not blocked on
        S.safe_open(str(fifo), os.O_WRONLY)
    assert e.value.errno == errno.ENXIO


def test_relative_root_and_dotted_paths(tmp_path: Path, victim: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert S.safe_lstat("victim").st_ino == victim.stat().st_ino
    assert S.safe_lstat("/").st_ino == os.stat("/").st_ino
    (tmp_path / "d").mkdir()
    assert S.safe_stat(f"{tmp_path}/d/../victim").st_ino == victim.stat().st_ino
    assert S.safe_stat(f"{tmp_path}//./victim").st_ino == victim.stat().st_ino


def test_a_session_reopens_a_directory_replaced_since(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    with S.Session():
        os.close(S.safe_open(str(d / "one"), os.O_WRONLY | os.O_CREAT))
    d.rename(tmp_path / "old")
    d.mkdir()
    with S.Session():
        os.close(S.safe_open(str(d / "two"), os.O_WRONLY | os.O_CREAT))
    assert sorted(os.listdir(d)) == ["two"]
    assert sorted(os.listdir(tmp_path / "old")) == ["one"]


def test_sessions_keep_few_descriptors_and_one_cache_per_thread(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for i in range(3 * S.KEEP):
        (tmp_path / str(i)).mkdir()
        with S.Session():
            S.safe_mkdir(str(tmp_path / str(i) / "x"))
    assert len(os.listdir("/proc/self/fd")) <= before + S.KEEP

    seen: list[bool] = []

    def other() -> None:
        seen.append(getattr(S._local, "kept", None) is None)

    with S.Session():
        S.safe_lstat(str(tmp_path / "0"))
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen == [True]
