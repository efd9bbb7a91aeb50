"""``state/cf_changes.lmdb`` in cf-agent 3.21's layout: what vigil writes it reads back,
and what cf-agent wrote vigil reads (digests, stats, directory listings)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from engine.state._cstat import StatRecord
from engine.state.changes import ChangesDB, dir_key, hash_key, stat_key
from tests.cfengine import requires_cfengine
from tests.differential import run_cf


def test_keys_are_cfengines() -> None:
    assert hash_key("md5", "/a/b") == b"H\0md5\0\0\0\0\0/a/b\0"
    assert hash_key("sha256", "/x") == b"H\0sha256\0\0/x\0"
    assert stat_key("/a") == b"S_/a\0"
    assert dir_key("/d") == b"D_/d\0"


def test_round_trip(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x\n")
    db = ChangesDB(tmp_path / "state" / "cf_changes.lmdb")
    try:
        digest = hashlib.md5(b"x\n").digest()
        assert db.digest("md5", str(f)) is None
        assert db.set_digest("md5", str(f), digest)
        stored = db.digest("md5", str(f))
        assert stored is not None and len(stored) == 65 and stored[:16] == digest
        assert db.set_stat(str(f), os.lstat(f))
        assert db.stat(str(f)) == StatRecord.of(os.lstat(f))
        assert db.set_names(str(tmp_path), ["b", "a", "B"]) is True
        assert db.names(str(tmp_path)) == ["B", "a", "b"]  # strcmp order
        assert db.set_names(str(tmp_path), ["a", "b", "B"]) is False  # unchanged
        assert db.set_names(str(tmp_path), []) is True  # the key goes
        assert db.names(str(tmp_path)) == []
        db.forget(str(f))
        assert db.digest("md5", str(f)) is None and db.stat(str(f)) is None
    finally:
        db.close()


@requires_cfengine
def test_reads_what_cf_agent_recorded(tmp_path: Path) -> None:
    target = tmp_path / "t"
    (target / "sub").mkdir(parents=True)
    (target / "f").write_text("content\n")
    policy = tmp_path / "p.cf"
    policy.write_text(f"""
body common control {{ bundlesequence => {{ "t" }}; }}
body changes c {{ hash => "sha256"; report_changes => "all"; update_hashes => "true"; }}
body depth_search inf {{ depth => "inf"; }}
bundle agent t {{ files: "{target}" depth_search => inf, changes => c; }}
""")
    wd = tmp_path / "wd"
    assert run_cf(policy, wd, "-K").rc == 0
    path = wd / "state" / "cf_changes.lmdb"
    db = ChangesDB(path)
    try:
        f = str(target / "f")
        stored = db.digest("sha256", f)
        assert stored is not None and stored[:32] == hashlib.sha256(b"content\n").digest()
        assert db.stat(f) == StatRecord.of(os.lstat(f))
        assert db.names(str(target)) == ["f", "sub"]
    finally:
        db.close()
