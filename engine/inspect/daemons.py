"""Daemons, their health, and the scheduler's plan, for vigil and CFEngine workdirs.

vigil's daemons are read through :mod:`engine.daemons.status` and
:mod:`engine.daemons.health`; CFEngine's through :mod:`engine.cfengine.daemons`, with
advice that speaks CFEngine (``systemctl start cf-serverd`` or the workdir's own
binary), never ``vigil up``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from engine.cfengine import daemons as cfd
from engine.daemons import procs
from engine.daemons.execd.daemon import read_status
from engine.daemons.execd.schedule import Schedule, next_run
from engine.daemons.health import health as vigil_health
from engine.daemons.status import daemon_statuses as vigil_statuses
from engine.workdir import Workdir

if TYPE_CHECKING:
    from engine.daemons.status import DaemonStatus


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    """One daemon as the overview and ``vigil status`` show it."""

    name: str  # execd, serverd, monitord, hub
    program: str  # "vigil execd" or "cf-execd"
    state: str  # running | stopped | stale
    pid: int | None
    uptime_s: float | None
    rss_bytes: int | None
    cpu_percent: float | None
    children: int
    found_by: str = ""  # CFEngine: "pidfile" or "process table"
    start_hint: str = ""  # how to start it, as an admin types it
    can_start: bool = True  # the console may start it
    can_stop: bool = True


@dataclass(frozen=True, slots=True)
class HealthIssue:
    code: str
    message: str
    fix: str


@dataclass(frozen=True, slots=True)
class ExecdStatus:
    """execd's plan. ``next_run_at`` is when the agent starts (splay included);
    ``tick_at`` the schedule instant it belongs to. Recomputed from the schedule when
    the status file's time has passed, so it never sticks at "now"."""

    running: bool
    policy_ok: bool | None
    policy_error: str | None
    next_run_at: float | None
    tick_at: float | None
    splay_s: float
    schedule: list[str] = field(default_factory=list)
    updated_at: float | None = None
    validated_at: float | None = None  # when the policy last checked valid


def _tree(found: list[cfd.Found], interval: float) -> dict[int, procs.TreeUsage]:
    pids = [f.pid for f in found if f.pid]
    return procs.tree_usage(pids, interval) if pids else {}


def daemon_statuses(wd: Workdir, interval: float = 0.2) -> list[DaemonInfo]:
    """Each daemon's state, pid, uptime, CPU% and the RSS of its process tree."""
    if wd.cfengine:
        found = cfd.find(wd.root)
        usage = _tree(found, interval)
        out = []
        for f in found:
            u = usage.get(f.pid or -1)
            out.append(DaemonInfo(
                f.name, f.program, f.state, f.pid if f.pid else f.pidfile_pid,
                u.uptime_s if u else None, u.rss_bytes if u else None,
                u.cpu_percent if u else None, u.children if u else 0, f.found_by,
                cfd.start_words(wd.root, f.name),
                cfd.start_command(wd.root, f.name) is not None,
                cfd.stop_command(wd.root, f.name, f.pid) is not None,
            ))
        return out
    return [
        DaemonInfo(d.name, f"vigil {d.name}", d.state, d.pid, d.uptime_s, d.rss_bytes,
                   d.cpu_percent, d.children, "pidfile", f"vigil up {d.name} -w {wd.root}")
        for d in vigil_statuses(wd, interval)
    ]


def health(wd: Workdir, statuses: list[DaemonInfo] | None = None) -> list[HealthIssue]:
    """What is wrong, each with its fix."""
    if wd.cfengine:
        found = statuses if statuses is not None else daemon_statuses(wd, 0.0)
        issues = []
        stopped = [d for d in found if d.state == "stopped" and d.name in cfd.DAEMONS]
        for d in found:
            if d.state == "stale":
                issues.append(HealthIssue(
                    "stale_pidfile",
                    f"{d.program}: {wd.root}/{d.program}.pid names pid {d.pid}, which is not "
                    f"{d.program} on this workdir",
                    f"start it: {d.start_hint}"))
        if stopped:  # one line for all of them: the banner stays short
            names = ", ".join(d.program for d in stopped)
            code = "scheduler_down" if any(d.name == "execd" for d in stopped) else "daemon_down"
            hint = stopped[0].start_hint
            if len(stopped) > 1:
                hint = hint.replace(stopped[0].program, "cf-<daemon>")
            issues.append(HealthIssue(code, f"not running: {names}", hint))
        return issues
    # vigil's checks read only name, state and pid of each status
    given = cast("list[DaemonStatus] | None", statuses)
    return [HealthIssue(h.code, h.message, h.fix) for h in vigil_health(wd, given)]


def execd_status(wd: Workdir, now: float | None = None) -> ExecdStatus | None:
    """The scheduler's plan (vigil's execd status file); None when there is none.
    cf-execd records no plan, so a CFEngine workdir has none."""
    if wd.cfengine:
        return None
    st = read_status(wd.root)
    if not st:
        return None
    t = time.time() if now is None else now
    splay = float(st.get("splay") or st.get("splay_s") or 0)
    sched = [str(s) for s in (st.get("schedule") or [])]
    nxt = st.get("next_run_at")
    nxt_f = float(nxt) if nxt is not None else None
    if nxt_f is not None and nxt_f < t - 1 and sched:
        try:
            tick = float(st.get("tick_seconds") or 60.0)
            nxt_f = next_run(Schedule(tuple(sched)), t, tick, splay)
        except (ValueError, TypeError):
            nxt_f = None
    return ExecdStatus(
        running=bool(st.get("running")),
        policy_ok=st.get("policy_ok"),
        policy_error=st.get("policy_error"),
        next_run_at=nxt_f,
        tick_at=(nxt_f - splay) if nxt_f is not None else None,
        splay_s=splay,
        schedule=sched,
        updated_at=st.get("updated_at"),
        validated_at=st.get("last_valid_at") or st.get("validated_at"),
    )
