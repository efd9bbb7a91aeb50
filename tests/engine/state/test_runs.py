"""Run reports: atomic files, newest first, cheap headers, pruning."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from engine.state.runs import (
    PromiseRecord,
    RunReport,
    count_outcomes,
    list_reports,
    load_report,
    prune,
    read_header,
    report_name,
    write_run_report,
)


def record(i: int, outcome: str = "kept", reason: str | None = None) -> PromiseRecord:
    return PromiseRecord("main", "files", f"/etc/f{i}", "/wd/inputs/promises.cf", i + 1, 3,
                         outcome, reason, "0/1 minutes elapsed" if reason else "",
                         f"main.files.create.-h._etc_f{i}_1_MD5={i:032x}", 1, 120, None)


def report(start: float, pid: int, records: list[PromiseRecord] | None = None) -> RunReport:
    recs = records or []
    return RunReport(
        id=report_name(start, pid), start=start, end=start + 1.5, pid=pid,
        policy_file="/wd/inputs/promises.cf", policy_hash="abc", flags=["-I"],
        started_by="schedule", exit_code=0, interrupted=False, policy_error=None,
        counts=count_outcomes(recs), classes=["any", "linux"], negated=["debug"],
        promises=recs, output_file=None,
    )


def test_round_trip_and_file_name(tmp_path: Path):
    start = time.mktime((2026, 11, 22, 4, 7, 3, 0, 0, -1))
    r = report(start, 4242, [record(0), record(1, "skipped", "locked")])
    path = write_run_report(tmp_path, r)
    assert path.name == "20261122T040703-4242.json"
    assert load_report(path) == r
    assert RunReport.from_json(r.to_json()) == r
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    text = path.read_text()
    assert "\n" not in text  # compact


def test_counts_by_outcome_and_reason():
    recs = [record(0), record(1, "repaired"), record(2, "notkept"), record(3, "timeout"),
            record(4, "skipped", "locked"), record(5, "skipped", "locked"),
            record(6, "skipped", "guard_false")]
    assert count_outcomes(recs) == {"kept": 1, "repaired": 1, "notkept": 2, "skipped": 3,
                                    "skipped_locked": 2, "skipped_guard_false": 1}


def test_header_read_without_the_promises(tmp_path: Path):
    recs = [record(i, "skipped", "locked") for i in range(10000)]
    r = report(time.time(), 7, recs)
    t = time.process_time()
    path = write_run_report(tmp_path, r)
    write_s = time.process_time() - t
    t = time.process_time()
    head = read_header(path)
    head_s = time.process_time() - t
    assert head["id"] == r.id and head["counts"]["skipped_locked"] == 10000
    assert "promises" not in head and "classes" not in head
    assert write_s < 0.5 and head_s < 0.01, (write_s, head_s)
    assert path.stat().st_size < 4_000_000
    assert len(load_report(path).promises) == 10000


def test_tricky_strings_do_not_fool_the_header_reader(tmp_path: Path):
    evil = PromiseRecord("m", "reports", ',"promise_fields":', "f", 1, 1, "kept")
    r = report(time.time(), 8, [evil])
    r2 = RunReport(**{**{k: getattr(r, k) for k in r.__dataclass_fields__},
                      "policy_error": 'x,"promise_fields":y'})
    path = write_run_report(tmp_path, r2)
    assert read_header(path)["policy_error"] == 'x,"promise_fields":y'
    assert load_report(path).promises[0].promiser == ',"promise_fields":'


def test_list_newest_first_and_prune(tmp_path: Path):
    base = time.time() - 1000
    for i in range(5):
        write_run_report(tmp_path, report(base + i * 10, 100 + i))
    (tmp_path / "notes.txt").write_text("not a report")
    names = [p.name for p in list_reports(tmp_path)]
    assert len(names) == 5 and names == sorted(names, reverse=True)
    assert names[0].endswith("-104.json")
    assert [p.name for p in list_reports(tmp_path, limit=2)] == names[:2]
    removed = prune(tmp_path, 3)
    assert sorted(p.name for p in removed) == sorted(names[3:])
    assert [p.name for p in list_reports(tmp_path)] == names[:3]
    assert list_reports(tmp_path / "absent") == []


def test_reads_reports_with_dict_records(tmp_path: Path):
    r = report(time.time(), 9, [record(0)])
    d = r.to_dict()
    d["promises"] = [dict(zip(d["promise_fields"], row, strict=True)) for row in d["promises"]]
    del d["promise_fields"]
    path = tmp_path / "x.json"
    path.write_text(json.dumps(d))
    assert load_report(path) == r
    assert read_header(path)["id"] == r.id
    os.unlink(path)


def test_agent_writer_gives_the_same_bytes_as_the_report_class(tmp_path: Path):
    from engine.state import runfile

    recs = [record(0), record(1, "skipped", "locked"), PromiseRecord("m", "reports", "é\"x", "f",
                                                                     1, 1, "kept")]
    r = report(time.time(), 11, recs)
    header = {k: getattr(r, k) for k in runfile.HEADER_FIELDS}
    rows = [[getattr(p, f) for f in runfile.RECORD_FIELDS] for p in recs]
    assert runfile.report_json(header, r.classes, r.negated, rows) == r.to_json()
    path = runfile.write_report_file(tmp_path, r.id, runfile.report_json(header, r.classes,
                                                                         r.negated, rows))
    assert load_report(path) == r


def test_bytes_that_are_not_utf8_round_trip(tmp_path: Path):
    """Surrogates (undecodable bytes) are escaped in the file and come back as they were."""
    rec = PromiseRecord("main", "reports", "caf\udce9 \\\udcff", "/p.cf", 1, 1, "repaired",
                        detail="na\u00efve caf\udce9")
    r = report(time.time(), 99, [rec])
    path = write_run_report(tmp_path, r)
    raw = path.read_bytes()
    raw.decode("utf-8")
    assert b"\\udce9" in raw and "na\u00efve".encode() in raw
    assert load_report(path) == r
    assert read_header(path)["pid"] == 99
