"""``-K``: every promise runs, the lock database is left exactly as it was, and
persistent classes are still written."""

from __future__ import annotations

import hashlib
import time

import pytest

from tests.cfengine import HAVE_CFENGINE
from tests.engine.locks_e2e.harness import SamePath, dump

POLICY = """
body common control { bundlesequence => { "nolock" }; }
body action hourly { ifelapsed => "60"; }
body classes remember(prefix) {
  promise_repaired => { "$(prefix)_repaired" };
  persist_time => "7";
}
bundle agent nolock {
 files:
   "$(sys.workdir)/tmp/stamp" create => "true", action => hourly, classes => remember("stamp");
 commands:
   "/bin/sh -c 'echo ran >> $(sys.workdir)/tmp/count.txt'" action => hourly;
 reports:
   "nolock report";
}
"""


@pytest.mark.parametrize("kind", ["cf", "vigil"])
def test_no_lock_run_leaves_the_lock_db_unchanged(site: SamePath, kind: str) -> None:
    if kind == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent is not installed")
    site.write_policy(POLICY)
    wd = site.start(kind)
    locks = wd / "state" / "cf_lock.lmdb"
    state = wd / "state" / "cf_state.lmdb"
    first = site.run("-I")
    assert first.rc == 0 and "R: nolock report" in first.lines, first.out
    before = dump(locks)
    before_bytes = hashlib.sha256(locks.read_bytes()).hexdigest()
    assert any(k.startswith(b"last.nolock.files.") for k in before)

    (wd / "tmp" / "stamp").unlink()
    state.unlink()  # the -K run must write the persistent class again
    t0 = time.time()
    forced = site.run("-K", "-I")
    assert forced.rc == 0, forced.out
    # everything ran although each promise is locked for an hour
    assert (wd / "tmp" / "stamp").exists()
    assert (wd / "tmp" / "count.txt").read_text() == "ran\nran\n"
    assert "R: nolock report" in forced.lines
    assert dump(locks) == before
    if kind == "vigil":  # vigil does not even open it
        assert hashlib.sha256(locks.read_bytes()).hexdigest() == before_bytes
    classes = dump(state)
    assert list(classes) == [b"stamp_repaired\0"]
    expires = int.from_bytes(classes[b"stamp_repaired\0"][:4], "little")
    assert t0 + 420 - 2 <= expires <= time.time() + 420
    site.park()
