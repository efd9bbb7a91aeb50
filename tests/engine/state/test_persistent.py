"""Persistent classes in cf_state.lmdb, in CFEngine's value format."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.state.lmdbstore import reading
from engine.state.persistent import PersistentClass, PersistentClassDB, decode, encode, read_all
from tests import cfengine
from tests.cfengine import make_workdir, requires_cfengine
from tests.differential import run_cf

T0 = 1_795_320_370


def test_value_format_matches_cfengine():
    # Raw values recorded from cf-agent: expires, policy, tags, NUL.
    assert encode(1795320955, "reset", []) == bytes.fromhex("7b6c026b0000000000")
    assert encode(1795320790, "absolute", []) == bytes.fromhex("d66b026b0100000000")
    pc = decode(b"pc_via_classes_promise\0",
                encode(1795320670, "reset", ["source=promise", "mytag", "k=v"]))
    assert pc == PersistentClass("pc_via_classes_promise", 1795320670, "reset",
                                 ("source=promise", "mytag", "k=v"))
    with pytest.raises(ValueError):
        encode(1, "sometimes", [])


def test_reset_restarts_the_timer_and_preserve_keeps_it(tmp_path: Path):
    db = PersistentClassDB.open(tmp_path / "cf_state.lmdb")
    assert db.save("r", 10, "reset", now=T0).expires == T0 + 600
    assert db.save("r", 10, "reset", now=T0 + 120).expires == T0 + 720
    assert db.save("p", 10, "preserve", now=T0).expires == T0 + 600
    assert db.save("p", 10, "absolute", now=T0 + 120).expires == T0 + 600
    assert db.save("p", 10, "preserve", now=T0 + 601).expires == T0 + 1201  # had expired
    db.close()


def test_load_returns_live_classes_and_purges_expired(tmp_path: Path):
    path = tmp_path / "cf_state.lmdb"
    db = PersistentClassDB.open(path)
    db.save("short", 1, now=T0, tags=["a"])
    db.save("long", 60, now=T0)
    live = db.load(now=T0 + 60)  # 'short' expires at T0+60: still in force
    assert set(live) == {"short", "long"} and live["short"].tags == ("a",)
    live = db.load(now=T0 + 61)
    assert set(live) == {"long"}
    db.close()
    assert [pc.name for pc in read_all(path)] == ["long"]  # purged from the file
    db = PersistentClassDB.open(path)
    assert db.delete("long") and not db.delete("long")
    assert db.load(now=T0) == {}
    db.close()


POLICY = """
body common control { bundlesequence => { "pc" }; }
body classes keep10 { promise_repaired => { "pres_repaired" }; persist_time => "10";
                      timer_policy => "absolute"; }
bundle agent pc {
 classes:
   "pc_via_classes_promise" expression => "any", persistence => "5", meta => { "mytag", "k=v" };
 files:
   "$(sys.workdir)/touched" create => "true", classes => keep10;
}
"""


@requires_cfengine
def test_reads_and_writes_cf_agents_store(tmp_path: Path):
    wd = make_workdir(tmp_path / "cfwd")
    policy = tmp_path / "p.cf"
    policy.write_text(POLICY)
    proc = run_cf(policy, wd, "-KI")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = wd / "state" / "cf_state.lmdb"
    db = PersistentClassDB.open(path)
    live = db.load()
    assert live["pc_via_classes_promise"].tags == ("source=promise", "mytag", "k=v")
    assert live["pc_via_classes_promise"].policy == "reset"
    assert live["pres_repaired"].policy == "preserve" and live["pres_repaired"].tags == ()
    span = live["pres_repaired"].expires - live["pc_via_classes_promise"].expires
    assert span == 300  # 10 minutes against 5, set in the same second
    db.save("from_vigil", 7, "reset", ["source=promise", "x"])
    db.close()
    if cfengine.which("cf-check"):
        out = subprocess.run(["cf-check", "dump", str(path)], capture_output=True, text=True,
                             timeout=30)
        assert '"from_vigil": {"expires":' in out.stdout
        assert '"policy":"RESET","tags":"source=promise,x"' in out.stdout
    with reading(path) as txn:
        assert txn is not None and txn.get(b"from_vigil\0") is not None
    seen = tmp_path / "seen.cf"
    seen.write_text('body common control { bundlesequence => { "s" }; }\n'
                    'bundle agent s {\n reports:\n  from_vigil::\n'
                    '   "cf-agent sees from_vigil";\n}\n')
    assert "R: cf-agent sees from_vigil" in run_cf(seen, wd, "-KI").stdout


def test_an_empty_store_is_opened_only_when_a_class_is_saved(tmp_path: Path):
    path = tmp_path / "cf_state.lmdb"
    PersistentClassDB.open(path).close()  # exists, no entries
    db = PersistentClassDB.open_when_written(path)
    assert db._store is None and db.load(T0) == {} and db.path == path
    db.save("later", 10, "reset", now=T0)
    db.close()
    db = PersistentClassDB.open_when_written(path)  # has an entry: opened and loaded
    assert db._store is not None and list(db.load(T0)) == ["later"]
    db.close()
    fresh = PersistentClassDB.open_when_written(tmp_path / "new.lmdb")  # missing: made now
    assert fresh._store is not None and (tmp_path / "new.lmdb").exists()
    fresh.close()
