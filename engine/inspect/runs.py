"""Runs: one :class:`RunSummary` per agent run, newest first, and one run's detail.

A vigil workdir has a run report per run (``outputs/runs/*.json``). A CFEngine workdir
has what :mod:`engine.cfengine.runs` finds: cf-execd's outputs, ``promise_summary.log``
(percentages, no counts) and the console's records of its forced runs (with exit code).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.cfengine import runs as cfruns
from engine.inspect._reports import cached_report
from engine.state.runs import RunReport, RunSummary, list_reports, read_header, summary_from_header
from engine.workdir import Workdir

OUTPUT_LIMIT = 256 * 1024


@dataclass(frozen=True, slots=True)
class RunDetail:
    """A run opened: its summary, vigil's report (None for CFEngine) and its output."""

    summary: RunSummary
    report: RunReport | None
    output: str | None
    output_note: str


def _from_cf(r: cfruns.CfRun) -> RunSummary:
    end = r.end if r.end is not None else r.start
    return RunSummary(
        id=r.id, start=r.start, end=end, duration=max(0.0, end - r.start), exit_code=r.exit_code,
        counts={}, started_by=r.started_by, interrupted=False, policy_error=None,
        flags=[], policy_file=r.command, output_file=r.output_file, percents=dict(r.percents),
        source=" + ".join(r.sources),
    )


def runs(wd: Workdir, limit: int = 50) -> list[RunSummary]:
    """The newest ``limit`` runs, newest first."""
    if wd.cfengine:
        return [_from_cf(r) for r in cfruns.runs(wd.root, limit)]
    out = []
    for path in list_reports(wd.runs, limit=limit):
        try:
            out.append(summary_from_header(read_header(path)))
        except (OSError, ValueError, TypeError):
            continue
    return out


def read_output(path: str | None) -> tuple[str | None, str]:
    """A run's captured output (its last 256 kB), or why there is none."""
    if not path:
        return None, "no captured output: runs started outside execd print to their terminal"
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - OUTPUT_LIMIT))
            data = fh.read()
    except OSError as exc:
        return None, f"captured output {path}: {exc.strerror}"
    note = f"{path}" + (" (last 256 kB)" if size > OUTPUT_LIMIT else "")
    return data.decode("utf-8", errors="replace"), note


def run_report(wd: Workdir, run_id: str) -> RunReport | None:
    """vigil's whole report of one run; ``run_id`` may be a unique prefix, or ``latest``."""
    if wd.cfengine:
        return None
    if run_id == "latest":
        paths = list_reports(wd.runs, limit=1)
    else:
        exact = wd.runs / f"{run_id}.json"
        paths = [exact] if exact.exists() else [
            p for p in list_reports(wd.runs) if p.stem.startswith(run_id)
        ]
    if len(paths) != 1:
        return None
    return cached_report(paths[0])


def run_detail(wd: Workdir, run_id: str) -> RunDetail | None:
    """One run with its output; None when no single run matches ``run_id``."""
    if wd.cfengine:
        found = [r for r in runs(wd, limit=10_000)
                 if r.id == run_id or (run_id == "latest")][:1]
        if not found:
            found = [r for r in runs(wd, limit=10_000) if r.id.startswith(run_id)]
        if len(found) != 1:
            return None
        s = found[0]
        text, note = read_output(s.output_file)
        if s.output_file is None:
            note = "CFEngine recorded no output for this run (only its promise_summary.log line)"
        return RunDetail(s, None, text, note)
    report = run_report(wd, run_id)
    if report is None:
        return None
    summary = summary_from_header({
        "id": report.id, "start": report.start, "end": report.end, "exit_code": report.exit_code,
        "counts": report.counts, "started_by": report.started_by, "interrupted": report.interrupted,
        "policy_error": report.policy_error, "flags": report.flags,
        "policy_file": report.policy_file, "output_file": report.output_file,
    })
    text, note = read_output(report.output_file)
    return RunDetail(summary, report, text, note)
