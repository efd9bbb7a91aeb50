"""What ``vigil status`` and the console show about the daemons.

:func:`daemon_statuses` reports each daemon of a workdir: running, stopped or
``stale`` (a pidfile naming a dead process or someone else's), with uptime and
the RSS and CPU% of its whole process tree (execd's agent included).
:func:`last_run` and :func:`next_run_at` read the newest run report and
execd's status file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.daemons import pidfile, procs
from engine.daemons.execd.daemon import read_status
from engine.state.runs import RunSummary, list_reports, read_header, summary_from_header
from engine.workdir import DAEMONS, Workdir


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    name: str
    state: str  # "running" | "stopped" | "stale"
    pid: int | None
    uptime_s: float | None
    rss_bytes: int | None
    cpu_percent: float | None
    children: int


def root_of(wd: Workdir | str | os.PathLike[str]) -> Path:
    """The workdir's root from a :class:`Workdir` or a path (``Path.root`` is "/", beware)."""
    return wd.root if isinstance(wd, Workdir) else Path(wd)


def daemon_statuses(wd: Workdir | str | os.PathLike[str], interval: float = 0.2) -> list[DaemonStatus]:
    """Each daemon of ``wd`` (a Workdir or a path); CPU% is measured over ``interval`` s."""
    root = root_of(wd)
    checks = {d: pidfile.check(root, d) for d in DAEMONS}
    running = [c.pid for c in checks.values() if c.state == "running" and c.pid]
    usage = procs.tree_usage(running, interval) if running else {}
    out = []
    for d, c in checks.items():
        u = usage.get(c.pid or -1) if c.state == "running" else None
        out.append(
            DaemonStatus(
                d,
                c.state,
                c.pid,
                u.uptime_s if u else None,
                u.rss_bytes if u else None,
                u.cpu_percent if u else None,
                u.children if u else 0,
            )
        )
    return out


def _summaries(root: Path, limit: int) -> list[RunSummary]:
    """The newest ``limit`` run reports' summaries; a report that is not a regular
    file or cannot be read is left out (never opened blocking)."""
    out = []
    for path in list_reports(root / "outputs" / "runs", limit=limit):
        try:
            out.append(summary_from_header(read_header(path)))
        except (OSError, ValueError, TypeError):
            continue
    return out


def last_run(wd: Workdir | str | os.PathLike[str]) -> RunSummary | None:
    """The newest run report, or None."""
    runs = _summaries(root_of(wd), 1)
    return runs[0] if runs else None


def last_successful_run(wd: Workdir | str | os.PathLike[str], scan: int = 50) -> RunSummary | None:
    for r in _summaries(root_of(wd), scan):
        if r.ok:
            return r
    return None


def execd_info(wd: Workdir | str | os.PathLike[str]) -> dict[str, Any] | None:
    """execd's status file, only while that execd is alive."""
    root = root_of(wd)
    st = read_status(root)
    if not st or not st.get("pid") or not pidfile.is_running(root, "execd", int(st["pid"])):
        return None
    return st


def next_run_at(wd: Workdir | str | os.PathLike[str]) -> float | None:
    st = execd_info(wd)
    t = st.get("next_run_at") if st else None
    return float(t) if t is not None else None
