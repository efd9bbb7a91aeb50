"""``vigil watchdog``: the cron-driven safety net under execd.

Idempotent; each pass:

1. keeps exactly one execd for the workdir: duplicates (ours, matched by
   command line and workdir) are stopped by pid, the one in the pidfile kept;
2. starts execd when none is running, unless it was stopped on purpose
   (``vigil down``: :func:`engine.daemons.supervise.supervisor.stopped_on_purpose`);
3. kills agents of this workdir running longer than ``agent_ceiling_minutes``
   (an agent wedged beyond what execd's own expiry caught).

What it did goes to ``logs/watchdog.log``. Two watchdogs never overlap (a
lock in ``state/``); the second one exits at once.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from engine.daemons import detach, pidfile, procs
from engine.daemons.config import DaemonSettings
from engine.daemons.supervise import supervisor
from engine.workdir import make_dirs


@dataclass
class WatchdogReport:
    actions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # what was deliberately left alone: printed, not logged (cron runs it every few minutes)
    notes: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _log(root: Path, lines: list[str]) -> None:
    if not lines:
        return
    path = detach.log_path(root, "watchdog")
    make_dirs(path.parent, 0o700)
    detach.rotate(path)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as fh:
        for ln in lines:
            fh.write(f"{stamp} {ln}\n")


def run_once(root: Path, settings: DaemonSettings) -> WatchdogReport:
    report = WatchdogReport()
    lock_file = root / "state" / "watchdog.lock"
    make_dirs(lock_file.parent, 0o700)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report.skipped = True
            return report
        _dedupe_execd(root, report)
        _ensure_execd(root, report)
        _kill_old_agents(root, settings.agent_ceiling_minutes, report)
    finally:
        os.close(fd)
        _log(root, report.actions + [f"error: {e}" for e in report.errors])
    return report


def _dedupe_execd(root: Path, report: WatchdogReport) -> None:
    found = procs.find("execd", root)
    if len(found) <= 1:
        return
    listed = pidfile.read_pid(root, "execd")
    keep = next((p for p in found if p.pid == listed), found[0])
    for p in found:
        if p.pid == keep.pid:
            continue
        left = procs.stop_tree(p.pid, 10.0)
        report.actions.append(f"stopped duplicate execd pid {p.pid} (kept pid {keep.pid})")
        if left:
            report.errors.append(f"duplicate execd pid {p.pid} left processes {left}")
    if listed != keep.pid:
        pidfile.write_pid(root, "execd", keep.pid)


def _ensure_execd(root: Path, report: WatchdogReport) -> None:
    st = pidfile.check(root, "execd")
    if st.state == "running":
        return
    if supervisor.stopped_on_purpose(root, "execd"):
        report.notes.append("execd was stopped on purpose (vigil down): left stopped; "
                            "`vigil up execd` starts it")
        return
    r = supervisor.start(root, "execd")
    if r.ok:
        why = "stale pidfile" if st.state == "stale" else "not running"
        report.actions.append(f"execd was {why}: {r.message}")
    else:
        report.errors.append(f"could not start execd: {r.message}")


def _kill_old_agents(root: Path, ceiling_minutes: float, report: WatchdogReport) -> None:
    if ceiling_minutes <= 0:
        return
    now = time.time()
    for p in procs.find("agent", root, foreground=False):
        try:
            age = now - p.create_time()
        except psutil.Error:
            continue
        if age <= ceiling_minutes * 60:
            continue
        left = procs.stop_tree(p.pid, 5.0)
        report.actions.append(
            f"killed agent pid {p.pid}: running {age / 60:.1f} min, ceiling {ceiling_minutes:g} min"
        )
        if left:
            report.errors.append(f"agent pid {p.pid} left processes {left}")
