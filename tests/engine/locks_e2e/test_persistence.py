"""Persistent classes in ``state/cf_state.lmdb``: what cf-agent stores and says."""

from __future__ import annotations

import time

from tests.cfengine import HAVE_CFENGINE
from tests.engine.locks_e2e.harness import Result, SamePath, dump

CLASSES_PROMISES = """
body common control { bundlesequence => { "pc" }; }
bundle agent pc {
 classes:
   "pc_tagged" expression => "any", persistence => "5", meta => { "mytag", "k=v" };
   "pc_plain" expression => "any", persistence => "3";
   "pc_and" and => { "any", "cfengine" }, persistence => "4", scope => "bundle";
 reports:
   pc_and:: "pc_and defined";
}
bundle common pcc {
 classes:
   "pc_common" expression => "any", persistence => "2";
}
"""
# name -> (minutes, policy and tags bytes after the expiry)
STORED = {
    b"pc_and\0": (4, b"\0\0\0\0source=promise\0"),
    b"pc_common\0": (2, b"\0\0\0\0source=promise\0"),
    b"pc_plain\0": (3, b"\0\0\0\0source=promise\0"),
    b"pc_tagged\0": (5, b"\0\0\0\0source=promise,mytag,k=v\0"),
}

OUTCOME_BODIES = """
body common control { bundlesequence => { "b" }; }
body classes in_bundle { promise_repaired => { "c1_rep" }; persist_time => "5"; scope => "bundle"; }
body classes in_ns { promise_repaired => { "c2_rep" }; persist_time => "5"; scope => "namespace"; }
body classes unscoped { promise_repaired => { "c3_rep" }; persist_time => "5"; }
body classes absolute { promise_repaired => { "c4_rep" }; persist_time => "5";
                        timer_policy => "absolute"; scope => "bundle"; }
bundle agent b {
 files:
  "$(sys.workdir)/tmp/f1" create => "true", classes => in_bundle;
  "$(sys.workdir)/tmp/f2" create => "true", classes => in_ns;
  "$(sys.workdir)/tmp/f3" create => "true", classes => unscoped;
  "$(sys.workdir)/tmp/f4" create => "true", classes => absolute;
 reports:
  c1_rep.c2_rep.c3_rep.c4_rep:: "all four defined";
}
"""


def agents() -> list[str]:
    return ["cf", "vigil"] if HAVE_CFENGINE else ["vigil"]


def test_classes_promise_persistence(site: SamePath) -> None:
    site.write_policy(CLASSES_PROMISES)
    for kind in agents():
        t0 = time.time()
        (run,), wd = site.runs(kind, ("-K", "-I"))
        t1 = time.time()
        assert run.rc == 0 and run.lines == ["R: pc_and defined"], (kind, run.out)
        state = dump(wd / "state" / "cf_state.lmdb")
        assert sorted(state) == sorted(STORED), kind
        for name, (minutes, tail) in STORED.items():
            expires = int.from_bytes(state[name][:4], "little")
            assert int(t0) + 60 * minutes <= expires <= t1 + 60 * minutes, (kind, name)
            assert state[name][4:] == tail, (kind, name)


def _promotions(result: Result) -> set[str]:
    """The classes announced as promoted (cf-agent repeats the line per
    sub-result of a promise; which classes it names is what is compared)."""
    return {ln.split("'")[1] for ln in result.grep("Automatically promoting context scope")}


def test_outcome_classes_with_persist_time(site: SamePath) -> None:
    site.write_policy(OUTCOME_BODIES)
    for kind in agents():
        t0 = time.time()
        (run,), wd = site.runs(kind, ("-K", "-I"))
        assert run.rc == 0, run.out
        assert "R: all four defined" in run.lines, kind
        # announced unless the body asked for namespace scope itself
        assert _promotions(run) == {"c1_rep", "c3_rep", "c4_rep"}, kind
        state = dump(wd / "state" / "cf_state.lmdb")
        assert sorted(state) == [b"c1_rep\0", b"c2_rep\0", b"c3_rep\0", b"c4_rep\0"], kind
        policies = {k: state[k][4:] for k in state}
        assert policies[b"c4_rep\0"] == b"\x01\0\0\0\0", kind  # PRESERVE
        assert {policies[k] for k in policies if k != b"c4_rep\0"} == {b"\0\0\0\0\0"}, kind
        for value in state.values():
            assert int(t0) + 300 <= int.from_bytes(value[:4], "little") <= time.time() + 300
