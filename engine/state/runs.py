"""Run reports: what one agent run did, promise by promise.

The agent writes one JSON file per run to ``outputs/runs/<YYYYmmddTHHMMSS>-<pid>.json``
(local time of the run's start) when the run ends; the CLI and the console
read them through ``engine.inspect``. Files are written to a temporary name,
fsynced and renamed, so a reader never sees half a report. JSON is compact
(no indentation): 10,000 promise records stay in the low megabytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.state.runfile import (  # re-exported: callers import them from here
    HEADER_FIELDS,
    RECORD_FIELDS,
    SCHEMA,
    list_reports,
    odd_entries,
    open_report,
    prune,
    report_json,
    report_name,
    write_report_file,
)

__all__ = [
    "SCHEMA", "STARTED_BY", "PromiseRecord", "RunReport", "RunSummary", "as_record_dict", "count_outcomes",
    "list_reports", "load_report", "odd_entries", "prune", "read_header", "report_name", "summary_from_header", "write_run_report",
]

STARTED_BY = ("manual", "schedule", "forced", "remote")


@dataclass(frozen=True, slots=True)
class PromiseRecord:
    bundle: str
    promise_type: str
    promiser: str
    file: str
    line: int
    col: int
    outcome: str  # an engine.promises.base.Outcome value
    skip_reason: str | None = None  # an engine.promises.base.SkipReason value
    detail: str = ""
    lock_id: str | None = None
    ifelapsed: int | None = None
    expireafter: int | None = None
    handle: str | None = None


_RECORD_FIELDS = tuple(PromiseRecord.__dataclass_fields__)
assert _RECORD_FIELDS == RECORD_FIELDS, "engine.state.runfile.RECORD_FIELDS is out of date"
_LONG = frozenset({"classes", "negated", "promises"})
_HEADER_END = b',"promise_fields":'


@dataclass(frozen=True, slots=True)
class RunReport:
    id: str
    start: float
    end: float
    pid: int
    policy_file: str
    policy_hash: str
    flags: list[str] = field(default_factory=list)
    started_by: str = "manual"
    exit_code: int = 0
    interrupted: bool = False
    policy_error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    negated: list[str] = field(default_factory=list)
    promises: list[PromiseRecord] = field(default_factory=list)
    output_file: str | None = None

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)

    def to_dict(self) -> dict[str, Any]:
        """Scalars and counts first, then ``promise_fields`` and the long lists, so
        :func:`read_header` can stop reading at ``promise_fields``."""
        d: dict[str, Any] = {"schema": SCHEMA}
        for k in self.__dataclass_fields__:
            if k not in _LONG:
                d[k] = getattr(self, k)
        # Records as lists in field order: two thirds of the size of dicts.
        d["promise_fields"] = list(_RECORD_FIELDS)
        d["classes"] = self.classes
        d["negated"] = self.negated
        d["promises"] = self.rows()
        return d

    def rows(self) -> list[list[Any]]:
        return [[getattr(p, f) for f in _RECORD_FIELDS] for p in self.promises]

    def to_json(self) -> str:
        header = {k: getattr(self, k) for k in HEADER_FIELDS}
        return report_json(header, self.classes, self.negated, self.rows())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunReport:
        names = d.get("promise_fields") or list(_RECORD_FIELDS)
        records = []
        for row in d.get("promises", []):
            if isinstance(row, dict):
                values = {k: v for k, v in row.items() if k in _RECORD_FIELDS}
            else:
                values = {k: v for k, v in zip(names, row, strict=False) if k in _RECORD_FIELDS}
            records.append(PromiseRecord(**values))
        kwargs = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "promises"}
        return cls(**kwargs, promises=records)

    @classmethod
    def from_json(cls, text: str) -> RunReport:
        return cls.from_dict(json.loads(text))


assert tuple(k for k in RunReport.__dataclass_fields__ if k not in _LONG) == HEADER_FIELDS, (
    "engine.state.runfile.HEADER_FIELDS is out of date")


def count_outcomes(records: list[PromiseRecord]) -> dict[str, int]:
    """kept / repaired / notkept / skipped and ``skipped_<reason>`` totals."""
    counts = {"kept": 0, "repaired": 0, "notkept": 0, "skipped": 0}
    for r in records:
        if r.outcome in ("kept", "repaired"):
            counts[r.outcome] += 1
        elif r.outcome == "skipped":
            counts["skipped"] += 1
            if r.skip_reason:
                key = f"skipped_{r.skip_reason}"
                counts[key] = counts.get(key, 0) + 1
        else:  # notkept, denied, timeout
            counts["notkept"] += 1
    return counts


def write_run_report(runs_dir: str | os.PathLike[str], report: RunReport) -> Path:
    """Write ``<runs_dir>/<id>.json`` atomically; ``report.id`` names the file
    (use :func:`report_name`)."""
    return write_report_file(runs_dir, report.id, report.to_json())


def load_report(path: str | os.PathLike[str]) -> RunReport:
    with open(open_report(path), encoding="utf-8") as fh:
        return RunReport.from_json(fh.read())


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The report without its class lists and promises, reading only the head of
    the file (a JSON string cannot hold the unescaped marker looked for)."""
    buf = b""
    with open(open_report(path), "rb") as fh:
        while True:
            chunk = fh.read(8192)
            buf += chunk
            pos = buf.find(_HEADER_END)
            if pos >= 0:
                return json.loads(buf[:pos] + b"}")
            if not chunk:
                break
    d = json.loads(buf)
    for k in _LONG:
        d.pop(k, None)
    return d


def as_record_dict(record: PromiseRecord) -> dict[str, Any]:
    return asdict(record)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run. ``exit_code`` is None where nothing recorded it (cf-execd's runs);
    ``counts`` are promise counts (vigil), ``percents`` CFEngine's percentages."""

    id: str
    start: float
    end: float
    duration: float
    exit_code: int | None
    counts: dict[str, int]
    started_by: str
    interrupted: bool
    policy_error: str | None
    flags: list[str] = field(default_factory=list)
    policy_file: str = ""
    output_file: str | None = None
    percents: dict[str, float] = field(default_factory=dict)
    source: str = "run report"

    @property
    def ok(self) -> bool:
        return self.exit_code in (0, None) and not self.interrupted and not self.policy_error


def summary_from_header(d: dict[str, Any]) -> RunSummary:
    """The summary of a run from its report's header (:func:`read_header`)."""
    start = float(d.get("start", 0.0))
    end = float(d.get("end") or start)
    code = d.get("exit_code", 0)
    return RunSummary(
        id=str(d.get("id", "")),
        start=start,
        end=end,
        duration=max(0.0, end - start),
        exit_code=int(code) if code is not None else None,
        counts=dict(d.get("counts") or {}),
        started_by=str(d.get("started_by", "manual")),
        interrupted=bool(d.get("interrupted", False)),
        policy_error=d.get("policy_error"),
        flags=list(d.get("flags") or []),
        policy_file=str(d.get("policy_file", "")),
        output_file=d.get("output_file"),
    )
