"""The cf-agent runs a CFEngine workdir remembers, and the ones the console recorded.

CFEngine keeps no run report. What it leaves:

* ``outputs/cf_<host>__<epoch>_<date>_0x…``: the output of each run cf-execd started
  (no exit code);
* ``promise_summary.log``: one line per run, ``start,end: Outcome of version V (agent-N):
  Promises observed to be kept A%, Promises repaired B%, Promises not repaired C%``
  (percentages, not counts);
* the console's own records of the runs it started (``K``): output and exit code, kept
  outside the CFEngine workdir (see :func:`record_dir`), written by
  :mod:`engine.cfengine.record`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.text import canonify

_EXECD_OUTPUT = re.compile(r"cf_.*?__(\d+)_")
_SUMMARY = re.compile(
    r"(\d+),(\d+): Outcome of version (.*?) \((.*?)\): Promises observed to be kept ([\d.]+)%,"
    r" Promises repaired ([\d.]+)%, Promises not repaired ([\d.]+)%"
)


@dataclass(frozen=True, slots=True)
class CfRun:
    id: str
    start: float
    end: float | None
    exit_code: int | None
    started_by: str  # "console", "cf-execd" or "cf-agent" (only a summary line)
    output_file: str | None
    percents: dict[str, float] = field(default_factory=dict)  # kept/repaired/notkept
    sources: tuple[str, ...] = ()
    command: str = ""


def record_dir(root: Path) -> Path:
    """Where the console keeps its records of runs on the CFEngine workdir ``root``:
    ``$XDG_STATE_HOME/vigil/cfengine-runs/<root canonified>`` (CFEngine's own workdir
    is never written)."""
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "vigil" / "cfengine-runs" / canonify(str(root.absolute()))


def read_summaries(path: Path) -> list[tuple[float, float, dict[str, float]]]:
    out: list[tuple[float, float, dict[str, float]]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        m = _SUMMARY.match(line)
        if m:
            out.append((float(m.group(1)), float(m.group(2)), {
                "kept": float(m.group(5)), "repaired": float(m.group(6)), "notkept": float(m.group(7)),
            }))
    return out


def _console_runs(root: Path) -> list[CfRun]:
    out: list[CfRun] = []
    d = record_dir(root)
    try:
        names = [n for n in os.listdir(d) if n.endswith(".json")]
    except OSError:
        return out
    for n in names:
        try:
            data = json.loads((d / n).read_text(encoding="utf-8"))
            start = float(data["start"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        end = data.get("end")
        code = data.get("exit_code")
        out.append(CfRun(
            str(data.get("id") or n[:-5]), start, float(end) if end is not None else None,
            int(code) if code is not None else None, "console",
            str(d / data["output"]) if data.get("output") else None,
            sources=("console",), command=str(data.get("command", "")),
        ))
    return out


def _execd_runs(root: Path) -> list[CfRun]:
    out: list[CfRun] = []
    outputs = root / "outputs"
    try:
        entries = list(os.scandir(outputs))
    except OSError:
        return out
    for e in entries:
        m = _EXECD_OUTPUT.match(e.name)
        if not m or not e.is_file(follow_symlinks=False):
            continue
        try:
            end = e.stat().st_mtime
        except OSError:
            end = None
        out.append(CfRun(f"execd-{m.group(1)}", float(m.group(1)), end, None, "cf-execd", e.path,
                         sources=("outputs/",)))
    return out


def runs(root: Path, limit: int = 50) -> list[CfRun]:
    """Newest first: console records and cf-execd outputs, each joined with its
    ``promise_summary.log`` line; summary lines no run claims are runs of their own."""
    known = _console_runs(root) + _execd_runs(root)
    summaries = read_summaries(root / "promise_summary.log")
    claimed: set[int] = set()
    joined = []
    for run in sorted(known, key=lambda r: r.start):
        hi = (run.end if run.end is not None else run.start) + 2
        pick = next((i for i, (s, _e, _p) in enumerate(summaries)
                     if i not in claimed and run.start - 2 <= s <= hi), None)
        if pick is None:
            joined.append(run)
            continue
        claimed.add(pick)
        s, e, pct = summaries[pick]
        joined.append(CfRun(run.id, run.start, run.end if run.end is not None else e, run.exit_code,
                            run.started_by, run.output_file, pct,
                            (*run.sources, "promise_summary.log"), run.command))
    for i, (s, e, pct) in enumerate(summaries):
        if i not in claimed:
            joined.append(CfRun(f"summary-{int(s)}-{i}", s, e, None, "cf-agent", None, pct,
                                ("promise_summary.log",)))
    joined.sort(key=lambda r: (r.start, r.id), reverse=True)
    return joined[:limit]


def output_text(run: CfRun, limit: int = 1_000_000) -> str | None:
    if not run.output_file:
        return None
    try:
        with open(run.output_file, "rb") as fh:
            return fh.read(limit).decode("utf-8", "surrogateescape")
    except OSError:
        return None
