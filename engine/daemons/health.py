"""Health checks for ``vigil status`` and the console: each with a one-line fix.

Codes: ``scheduler_down``, ``stale_pidfile``, ``no_successful_run``,
``agent_overlap``, ``agent_killed``, ``lock_db_large``, ``policy_invalid``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from engine.daemons import config
from engine.daemons.status import (
    DaemonStatus,
    daemon_statuses,
    execd_info,
    last_successful_run,
    root_of,
)
from engine.text import duration
from engine.workdir import Workdir

# Overlaps and kills older than this no longer count as a problem.
RECENT = 24 * 3600.0
DEFAULT_INTERVAL = 300.0


@dataclass(frozen=True, slots=True)
class HealthIssue:
    code: str
    message: str
    fix: str


def schedule_interval(info: dict[str, Any] | None) -> float:
    """Seconds between two scheduled runs, from execd's schedule (default 5 min)."""
    if not info:
        return DEFAULT_INTERVAL
    from engine.daemons.execd.schedule import Schedule, next_run

    sched = Schedule(expressions=tuple(info.get("schedule") or ()) or Schedule().expressions)
    tick = float(info.get("tick_seconds") or 60.0)
    first = next_run(sched, time.time(), tick, 0.0)
    if first is None:
        return DEFAULT_INTERVAL
    second = next_run(sched, first + tick, tick, 0.0)
    return (second - first) if second is not None else DEFAULT_INTERVAL


def health(wd: Workdir | str | os.PathLike[str], statuses: list[DaemonStatus] | None = None) -> list[HealthIssue]:
    """Everything that needs an admin's attention in workdir ``wd``."""
    root = root_of(wd)
    w = f" -w {root}"
    now = time.time()
    issues: list[HealthIssue] = []
    statuses = statuses if statuses is not None else daemon_statuses(root, interval=0.0)
    by_name = {s.name: s for s in statuses}
    for s in statuses:
        if s.state == "stale":
            issues.append(
                HealthIssue(
                    "stale_pidfile",
                    f"{s.name}.pid names pid {s.pid}, which is not a running {s.name}",
                    f"vigil up {s.name}{w}",
                )
            )
    execd = by_name.get("execd")
    info = execd_info(root) if execd and execd.state == "running" else None
    if execd is None or execd.state != "running":
        issues.append(
            HealthIssue("scheduler_down", "execd is not running: no scheduled agent runs", f"vigil up execd{w}")
        )
    if info and info.get("policy_ok") is False:
        since = info.get("policy_checked_at")
        keep = "the last valid policy keeps running" if info.get("last_valid_at") else "no valid policy runs"
        issues.append(
            HealthIssue(
                "policy_invalid",
                f"policy invalid ({info.get('policy_error')}); {keep}"
                + (f", since {time.strftime('%H:%M', time.localtime(since))}" if since else ""),
                f"fix the error, then check with: vigil promises -f {root / 'inputs' / 'promises.cf'}",
            )
        )
    interval = schedule_interval(info)
    ok = last_successful_run(root)
    up_since = float(info.get("started_at") or now) if info else None
    last_ok = ok.end or ok.start if ok else None
    window = 2 * interval
    if up_since is not None and now - up_since > window and (last_ok is None or now - last_ok > window):
        what = f"the last one was {duration(now - last_ok)} ago" if last_ok else "none yet"
        issues.append(
            HealthIssue(
                "no_successful_run",
                f"no successful agent run in {duration(window)} (twice the schedule interval); {what}",
                f"see the last run with: vigil runs{w}; run it by hand: vigil agent -I{w}",
            )
        )
    if info:
        t = info.get("last_overlap_at")
        if t and now - float(t) < RECENT:
            issues.append(
                HealthIssue(
                    "agent_overlap",
                    f"{info.get('overlaps_skipped', 0)} scheduled runs skipped because the previous "
                    f"one was still running (last {duration(now - float(t))} ago)",
                    "make the policy faster or schedule runs further apart (body executor control schedule)",
                )
            )
        t = info.get("last_killed_at")
        if t and now - float(t) < RECENT:
            issues.append(
                HealthIssue(
                    "agent_killed",
                    f"{info.get('killed_runs', 0)} agent runs killed by agent_expireafter "
                    f"(last {duration(now - float(t))} ago)",
                    f"read the run's output in {root / 'outputs' / 'previous'}; raise agent_expireafter "
                    "if runs are legitimately long",
                )
            )
    try:
        limit_mb = config.load(root).lock_db_warn_mb
    except Exception:  # noqa: BLE001 - a broken vigil.toml is reported elsewhere
        limit_mb = config.DaemonSettings().lock_db_warn_mb
    try:
        size = (root / "state" / "cf_lock.lmdb").stat().st_size
    except OSError:
        size = 0
    if size > limit_mb * 1024 * 1024:
        issues.append(
            HealthIssue(
                "lock_db_large",
                f"lock database is {size / 1048576:.1f} MB (warning above {limit_mb:g} MB)",
                f"list and clear old locks with: vigil locks{w} (see vigil locks --help)",
            )
        )
    return issues
