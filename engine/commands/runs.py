"""``vigil runs``: agent runs, and what each promise did in one of them.

    vigil runs [-w WD] [--json] [--limit N]       a table of the newest runs
    vigil runs [-w WD] [--json] RUN_ID            one run's promises with outcome and why

``RUN_ID`` is a report id (``20261122T040703-1234``), a unique prefix of one,
or ``latest``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from engine.commands.common import (
    add_workdir_arguments,
    checked_workdir,
    clock,
    format_table,
    raw_output,
)
from engine.text import run_time
from engine.workdir import Workdir

if TYPE_CHECKING:
    from engine.inspect import RunDetail
    from engine.state.runs import PromiseRecord, RunReport

REASON_WORDS = {
    "guard_false": "class guard false",
    "if_false": "'if' is false",
    "unless_true": "'unless' is true",
    "unresolved": "unresolved variable",
    "locked": "locked",
    "already_running": "already running",
    "dry_run": "dry run",
    "depends_on": "depends_on not met",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workdir_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--limit", type=int, default=50, help="how many runs to list (50)")
    parser.add_argument("run_id", nargs="?", metavar="RUN_ID", help="show one run's promises")


def run(args: argparse.Namespace) -> int:
    from engine import inspect

    raw_output()

    from engine.state.runfile import odd_entries

    wd = checked_workdir(args)
    if wd is None:
        return 2
    odd = odd_entries(wd.runs)  # not regular files: never opened, said so
    if args.run_id and wd.cfengine:
        detail = inspect.run_detail(wd, args.run_id)
        if detail is None:
            print(f"no single run matches {args.run_id!r} in {wd.root}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps({**asdict(detail.summary), "output": detail.output}, indent=1))
        else:
            print(render_cf_detail(detail))
        return 0
    if args.run_id:
        report = inspect.run_report(wd, args.run_id)
        if report is None:
            for problem in odd:
                if f"/{args.run_id}" in problem or args.run_id == "latest":
                    print(f"error: {problem}", file=sys.stderr)
            print(f"no single run matches {args.run_id!r} in {wd.runs}", file=sys.stderr)
            return 1
        if args.json:
            print(report.to_json())
        else:
            print(render_detail(report, wd))
        return 0
    for problem in odd:
        print(f"warning: {problem}", file=sys.stderr)
    summaries = inspect.runs(wd, limit=max(1, args.limit))
    if args.json:
        print(json.dumps([asdict(s) for s in summaries], indent=1))
        return 0
    if not summaries:
        print(f"no runs recorded in {wd.root if wd.cfengine else wd.runs}")
        return 0
    now = time.time()
    rows = []
    for s in summaries:
        c = s.counts
        note = "interrupted" if s.interrupted else (s.policy_error or "")
        if wd.cfengine:
            note = f"from {s.source}"
        rows.append([s.id, clock(s.start, now), run_time(s.duration), s.started_by,
                     "-" if s.exit_code is None else s.exit_code,
                     *(_tally(s, k) for k in ("kept", "repaired", "notkept")),
                     c.get("skipped", 0) if not s.percents else "-",
                     _short(note.splitlines()[0] if note else "", 50)])
    print(format_table(
        ["RUN", "START", "TOOK", "BY", "EXIT", "KEPT", "REPAIRED", "NOTKEPT", "SKIPPED", "NOTE"],
        rows, right=(2, 4, 5, 6, 7, 8),
    ))
    return 0


def why(rec: PromiseRecord, ran: float | None = None) -> str:
    """A skip reason in words: ``locked: ran 12:05:06, ifelapsed 60 min``;
    ``ran`` is when the promise last completed (``last.<id>``), if known."""
    if rec.outcome != "skipped":
        return rec.detail
    reason = rec.skip_reason or ""
    words = REASON_WORDS.get(reason, reason.replace("_", " ") or "skipped")
    if reason == "locked":
        parts = []
        if ran is not None:
            parts.append(f"ran {clock(ran)}")
        elif rec.detail:
            parts.append(rec.detail)
        if rec.ifelapsed is not None:
            parts.append(f"ifelapsed {rec.ifelapsed} min")
        return f"{words}: {', '.join(parts)}" if parts else words
    return f"{words}: {rec.detail}" if rec.detail else words


def render_detail(report: RunReport, wd: Workdir | None = None) -> str:
    c = report.counts
    lines = [
        f"run {report.id}  pid {report.pid}  by {report.started_by}  exit {report.exit_code}"
        + ("  (interrupted)" if report.interrupted else ""),
        f"started {clock(report.start)}, took {run_time(report.duration)}; "
        f"policy {report.policy_file}"
        + (f"; flags {' '.join(report.flags)}" if report.flags else ""),
        "kept {kept}, repaired {repaired}, not kept {notkept}, skipped {skipped}".format(
            kept=c.get("kept", 0), repaired=c.get("repaired", 0),
            notkept=c.get("notkept", 0), skipped=c.get("skipped", 0)),
    ]
    if report.policy_error:
        lines.append(f"policy error: {report.policy_error}")
    shown = report.promises
    if not shown:
        lines.append("no promises recorded")
        return "\n".join(lines)
    ran: dict[str, float] = {}
    locked = {r.lock_id for r in shown if r.skip_reason == "locked" and r.lock_id}
    if wd is not None and locked:
        from engine.inspect import lock_last_times

        ran = lock_last_times(wd, locked)
    rows = [[r.bundle, r.promise_type, _short(r.promiser, 40), r.outcome,
             _short(why(r, ran.get(r.lock_id or "")), 60), f"{r.file}:{r.line}"]
            for r in shown]
    lines.append("")
    lines.append(format_table(["BUNDLE", "TYPE", "PROMISER", "OUTCOME", "WHY", "WHERE"], rows))
    return "\n".join(lines)


def _tally(s: object, key: str) -> str:
    """A count (vigil) or CFEngine's percentage; "-" where nothing was recorded."""
    percents = getattr(s, "percents", {})
    if percents:
        return f"{percents.get(key, 0.0):.0f}%"
    counts = getattr(s, "counts", {})
    return str(counts.get(key, 0)) if counts or getattr(s, "source", "") == "run report" else "-"


def render_cf_detail(detail: RunDetail) -> str:
    s = detail.summary
    code = "exit code not recorded" if s.exit_code is None else f"exit {s.exit_code}"
    lines = [f"run {s.id}  by {s.started_by}  {code}",
             f"started {clock(s.start)}, took {run_time(s.duration)}; from {s.source}"]
    if s.percents:
        lines.append("kept {kept:.2f}%, repaired {repaired:.2f}%, not kept {notkept:.2f}% "
                     "(promise_summary.log)".format(**{k: s.percents.get(k, 0.0)
                                                       for k in ("kept", "repaired", "notkept")}))
    out = detail.output
    lines.append("")
    lines.append(out.rstrip("\n") if out else detail.output_note)
    return "\n".join(lines)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
