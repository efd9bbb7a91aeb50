"""Opening LMDB files safely: damaged files are caught before they are mapped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import lmdb
import pytest

from engine.state import lmdbcheck
from engine.state.lmdbstore import Store, Unreadable, reading


class Collect:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, msg: str) -> None:
        self.errors.append(msg)


def make_db(path: Path, n: int = 2000) -> None:
    env = lmdb.open(str(path), subdir=False, map_size=64 << 20)
    with env.begin(write=True) as txn:
        for i in range(n):
            txn.put(f"last.bundle.files.-h.promiser_{i:06d}_1_MD5=x\0".encode(), b"v" * 24)
    env.close()


def corrupt_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".corrupt-*"))


def test_sound_file_passes_quick_and_deep_checks(tmp_path: Path):
    db = tmp_path / "cf_lock.lmdb"
    make_db(db)
    for deep in (False, True):
        h = lmdbcheck.check(db, deep=deep)
        assert h.ok and h.exists and h.entries == 2000, h


def test_missing_file_is_fine_and_created(tmp_path: Path):
    db = tmp_path / "state" / "cf_lock.lmdb"
    assert lmdbcheck.check(db).exists is False
    store = Store.open(db)
    store.write(lambda t: t.put(b"k\0", b"v"))
    store.close()
    assert db.is_file() and Path(str(db) + "-lock").is_file()  # CFEngine's layout


def test_empty_file_is_a_new_database(tmp_path: Path):
    """0 bytes: a database another agent is creating (or one cf-agent left so);
    LMDB initialises it, as cf-agent does, and nothing is moved aside."""
    db = tmp_path / "cf_lock.lmdb"
    db.touch()
    log = Collect()
    store = Store.open(db, log=log)
    store.write(lambda t: t.put(b"k\0", b"v"))
    store.close()
    assert corrupt_files(db) == [] and log.errors == []
    assert lmdbcheck.check(db).entries == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    ["short", "half", "meta0", "both_metas", "garbage"],
)
def test_damaged_file_moved_aside_and_rebuilt(tmp_path: Path, damage: str):
    db = tmp_path / "cf_lock.lmdb"
    make_db(db)
    size = db.stat().st_size
    with open(db, "r+b") as fh:
        if damage == "empty":
            fh.truncate(0)
        elif damage == "short":
            fh.truncate(100)
        elif damage == "half":
            fh.truncate(size // 2 // 4096 * 4096)
        elif damage == "meta0":
            fh.write(os.urandom(4096))
        elif damage == "both_metas":
            fh.write(os.urandom(8192))
        else:
            fh.write(os.urandom(size))
    assert not lmdbcheck.check(db).ok
    log = Collect()
    # In a child first: proves the open cannot kill the process (SIGBUS on "half").
    code = (
        "import sys; from engine.state.lmdbstore import Store\n"
        "s = Store.open(sys.argv[1]); s.write(lambda t: t.put(b'new\\0', b'1')); s.close()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    moved = corrupt_files(db)
    assert len(moved) == 1 and re.fullmatch(r"cf_lock\.lmdb\.corrupt-\d+", moved[0].name)
    # The rebuilt file is sound, empty but for the new write.
    store = Store.open(db, log=log)
    keys = store.read(lambda t: [bytes(k) for k, _ in t.cursor()])
    store.close()
    assert keys == [b"new\0"]
    assert log.errors == []  # the child reported it; nothing left to report


def test_damage_reported_once_as_error(tmp_path: Path):
    db = tmp_path / "cf_state.lmdb"
    make_db(db)
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2 // 4096 * 4096)
    log = Collect()
    Store.open(db, log=log).close()
    Store.open(db, log=log).close()
    assert len(log.errors) == 1
    assert "damaged" in log.errors[0] and ".corrupt-" in log.errors[0]


def test_garbage_inside_the_tree_found_by_deep_check_and_at_read(tmp_path: Path):
    db = tmp_path / "cf_lock.lmdb"
    make_db(db, n=20000)
    npages = db.stat().st_size // 4096
    with open(db, "r+b") as fh:
        fh.seek(4096 * (npages // 2))
        fh.write(b"\xff" * 4096 * 20)
    assert not lmdbcheck.check(db, deep=True).ok
    # The quick check reads branch pages only and may miss it; a read finds it and
    # the store rebuilds once, then the operation goes on.
    log = Collect()
    store = Store(db, lmdb.open(str(db), subdir=False, map_size=64 << 20), log)
    n = store.read(lambda t: sum(1 for _ in t.cursor()))
    assert n == 0 and corrupt_files(db) and len(log.errors) == 1
    store.write(lambda t: t.put(b"after\0", b"1"))
    store.close()
    assert lmdbcheck.check(db, deep=True).ok


def test_map_full_grows_and_retries(tmp_path: Path):
    db = tmp_path / "grow.lmdb"
    store = Store.open(db, map_size=64 * 1024)
    big = [(f"k{i:05d}\0".encode(), os.urandom(100)) for i in range(3000)]

    def put_all(txn: lmdb.Transaction) -> int:
        for k, v in big:
            txn.put(k, v)
        return len(big)

    assert store.write(put_all) == 3000
    assert store.env.info()["map_size"] > 64 * 1024
    assert store.read(lambda t: t.stat()["entries"]) == 3000
    store.close()


def test_reader_shares_the_writer_env_in_one_process(tmp_path: Path):
    db = tmp_path / "cf_lock.lmdb"
    store = Store.open(db)
    store.write(lambda t: t.put(b"a\0", b"1"))
    with reading(db) as txn:
        assert txn is not None and txn.get(b"a\0") == b"1"
    store.write(lambda t: t.put(b"b\0", b"2"))  # still usable after the reader left
    store.close()
    with reading(db) as txn:  # now opens its own, read-only
        assert txn is not None and txn.get(b"b\0") == b"2"
    with reading(tmp_path / "absent.lmdb") as txn:
        assert txn is None


def test_reader_refuses_damaged_file_without_touching_it(tmp_path: Path):
    db = tmp_path / "cf_lock.lmdb"
    make_db(db)
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2 // 4096 * 4096)
    before = db.stat().st_size
    with pytest.raises(Unreadable), reading(db):
        pass
    assert db.stat().st_size == before and not corrupt_files(db)


def test_reader_does_not_block_a_writer_in_another_process(tmp_path: Path):
    db = tmp_path / "cf_lock.lmdb"
    make_db(db, n=10)
    with reading(db) as txn:
        assert txn is not None
        code = (
            "import sys, time; from engine.state.lmdbstore import Store\n"
            "t = time.monotonic(); s = Store.open(sys.argv[1])\n"
            "s.write(lambda x: x.put(b'w\\0', b'1')); s.close()\n"
            "print(time.monotonic() - t)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True,
                              text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        assert float(proc.stdout) < 2.0
        assert txn.get(b"w\0") is None  # our snapshot predates the write
    with reading(db) as txn:
        assert txn is not None and txn.get(b"w\0") == b"1"


def test_reader_without_access_to_the_lock_file(tmp_path: Path):
    """When the -lock file cannot be opened for writing (another user's workdir;
    here something else stands in its place), the reader goes lock-free."""
    db = tmp_path / "cf_lock.lmdb"
    make_db(db, n=5)
    lock = Path(str(db) + "-lock")
    lock.unlink()
    lock.mkdir()
    with reading(db) as txn:
        assert txn is not None and txn.stat()["entries"] == 5
    assert lock.is_dir()  # nothing was created or replaced


def test_quick_check_is_cheap(tmp_path: Path):
    db = tmp_path / "cf_lock.lmdb"
    make_db(db, n=10000)
    lmdbcheck.check(db)
    t = time.process_time()
    for _ in range(20):
        assert lmdbcheck.check(db).ok
    per = (time.process_time() - t) / 20
    assert per < 0.005, f"{per * 1e3:.2f} ms per check"


def test_verify_in_child_survives_sigbus(tmp_path: Path):
    db = tmp_path / "x.lmdb"
    make_db(db, n=20000)
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2 // 4096 * 4096)
    h = lmdbcheck.verify_in_child(db)
    assert not h.ok and h.reason


def test_cli_reports_damage(tmp_path: Path):
    good = tmp_path / "good.lmdb"
    bad = tmp_path / "bad.lmdb"
    make_db(good, n=10)
    bad.write_bytes(b"\0" * 10000)
    assert lmdbcheck.main([str(good)]) == 0
    assert lmdbcheck.main([str(good), str(bad)]) == 1





def test_close_syncs_only_what_this_process_committed(tmp_path):
    from engine.state import lmdbstore

    db = tmp_path / "s.lmdb"
    store = lmdbstore.Store.open(db)  # a new file: synced at close
    key = store._key
    assert key in lmdbstore._unsynced
    store.close()
    assert key not in lmdbstore._unsynced
    store = lmdbstore.Store.open(db)
    assert key not in lmdbstore._unsynced  # opened, nothing written: nothing to sync
    store.write(lambda txn: txn.put(b"k", b"v"))
    assert key in lmdbstore._unsynced
    store.sync()
    assert key not in lmdbstore._unsynced
    store.close()
