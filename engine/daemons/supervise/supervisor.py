"""Starting and stopping the daemons of one workdir (``vigil up/down/restart``).

A daemon is started detached as ``<python> -m engine <daemon> -F -w <wd>``;
it takes its own single-instance lock and writes ``<wd>/<daemon>.pid``. The
supervisor waits until that pidfile names a live process, or reports the tail
of the daemon's log when it died (unless another instance, started at the same
time, holds the lock: then the daemon is "already running"). Stopping sends
SIGTERM to our own pids (checked by command line, or holding the daemon's lock),
waits, and SIGKILLs the remains of the tree.

A stop is deliberate (``vigil down``, the console's stop): :func:`stop` leaves
``<wd>/state/<daemon>.stopped`` behind and :func:`start` removes it. The watchdog
and the keep-alive policy never start a daemon while its marker is there.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.atomicwrite import write_atomic
from engine.daemons import detach, pidfile, procs
from engine.workdir import DAEMONS, make_dirs


@dataclass(frozen=True, slots=True)
class StartResult:
    daemon: str
    ok: bool
    pid: int | None
    message: str


@dataclass(frozen=True, slots=True)
class StopResult:
    daemon: str
    ok: bool
    pids: tuple[int, ...]
    survivors: tuple[int, ...] = field(default_factory=tuple)
    message: str = ""


def _log_tail(log: Path, offset: int, lines: int = 3) -> str:
    try:
        with log.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    rows = [r for r in text.strip().splitlines() if r.strip()]
    return " | ".join(rows[-lines:])


def stop_marker(root: Path, daemon: str) -> Path:
    """The file that says ``daemon`` was stopped on purpose (keep-alive reads it too)."""
    return root / "state" / f"{daemon}.stopped"


def stopped_on_purpose(root: Path, daemon: str) -> bool:
    return stop_marker(root, daemon).exists()


def _mark_stopped(root: Path, daemon: str) -> None:
    path = stop_marker(root, daemon)
    make_dirs(path.parent, 0o755)
    write_atomic(path, f"{time.time():.0f}\n".encode(), 0o600)


def _clear_stopped(root: Path, daemon: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        stop_marker(root, daemon).unlink()


def start(
    root: Path,
    daemon: str,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    settle: float = 8.0,
) -> StartResult:
    """Start ``daemon`` for ``root`` unless it runs already; a deliberate stop is over."""
    _clear_stopped(root, daemon)
    settled = time.monotonic() + timeout
    while True:
        st = pidfile.check(root, daemon)
        if st.state == "running":
            return StartResult(daemon, True, st.pid, f"already running (pid {st.pid})")
        # Holding the lock without a pidfile: starting (another `vigil up` won the race),
        # or its pidfile was removed; either way it runs and must not be started twice.
        running = _lock_holder(root, daemon, wait=min(timeout, 2.0))
        if running is not None:
            return running
        found = procs.find(daemon, root)
        if not found:
            break
        # Ours by its command line but without the lock yet: starting (it takes the
        # lock, or loses it to another and exits). One that never takes it is kept.
        if time.monotonic() >= settled:
            pid = found[0].pid
            pidfile.write_pid(root, daemon, pid)
            return StartResult(daemon, True, pid, f"already running (pid {pid}); pidfile restored")
        time.sleep(0.05)
    stale = ""
    if st.state == "stale":
        pidfile.remove_pid(root, daemon, st.pid)  # only if no one replaced it meanwhile
        stale = f"; removed stale pidfile (pid {st.pid})"
    log = detach.log_path(root, daemon)
    try:
        offset = log.stat().st_size
    except OSError:
        offset = 0
    try:
        pid = detach.spawn(procs.daemon_argv(daemon, root, extra), log, root, env)
    except detach.SpawnError as e:
        return StartResult(daemon, False, None, f"could not start: {e}")
    if detach.log_path(root, daemon).stat().st_size < offset:  # rotated by spawn
        offset = 0
    # Ready when the daemon has written its pidfile; one that stays alive for
    # ``settle`` seconds without writing it (a daemon without pidfile support)
    # is taken as started and the supervisor writes the pidfile for it.
    deadline = time.monotonic() + min(timeout, settle)
    while time.monotonic() < deadline:
        if not procs.alive(pid):
            break
        if pidfile.read_pid(root, daemon) == pid:
            return StartResult(daemon, True, pid, f"started (pid {pid}){stale}")
        time.sleep(0.03)
    if procs.alive(pid):
        if pidfile.read_pid(root, daemon) != pid:
            pidfile.write_pid(root, daemon, pid)
        return StartResult(daemon, True, pid, f"started (pid {pid}){stale}")
    # Ours lost the lock to one started at the same time (two `vigil up` racing).
    running = _lock_holder(root, daemon, wait=timeout)
    if running is not None:
        return running
    return StartResult(daemon, False, None, f"exited at start: {_log_tail(log, offset) or 'no output'}")


def _lock_holder(root: Path, daemon: str, wait: float) -> StartResult | None:
    """The live process holding ``daemon``'s lock, once its pidfile names it.

    A daemon publishes its pidfile right after taking the lock (serverd once it
    listens): wait up to ``wait`` s for that, then write the pidfile for it.
    """
    holder = pidfile.lock_holder(root, daemon)
    if holder is None:
        return None
    deadline = time.monotonic() + wait
    while pidfile.read_pid(root, daemon) != holder and time.monotonic() < deadline:
        if not procs.alive(holder):
            return None
        time.sleep(0.03)
    if not procs.alive(holder):
        return None
    note = ""
    if pidfile.read_pid(root, daemon) != holder:
        pidfile.write_pid(root, daemon, holder)
        note = "; pidfile restored"
    return StartResult(daemon, True, holder, f"already running (pid {holder}){note}")


def stop(root: Path, daemon: str, timeout: float = 15.0) -> StopResult:
    """Stop every instance of ``daemon`` for ``root``; SIGKILL after ``timeout`` s.

    The stop is recorded first (:func:`stop_marker`), so that neither the watchdog
    nor the keep-alive policy starts the daemon again while it is being stopped.
    """
    _mark_stopped(root, daemon)
    st = pidfile.check(root, daemon)
    pids = [st.pid] if st.state == "running" and st.pid else []
    pids += [p.pid for p in procs.find(daemon, root) if p.pid not in pids]
    survivors: list[int] = []
    for pid in pids:
        survivors += procs.stop_tree(pid, timeout)
    if st.pid and (not procs.alive(st.pid) or st.state == "stale"):
        pidfile.remove_pid(root, daemon, st.pid)
    if not pids:
        msg = "not running" + (f" (removed stale pidfile, pid {st.pid})" if st.state == "stale" else "")
        return StopResult(daemon, True, (), (), msg)
    if survivors:
        return StopResult(
            daemon, False, tuple(pids), tuple(survivors), f"processes left: {survivors}"
        )
    return StopResult(daemon, True, tuple(pids), (), f"stopped (pid {', '.join(map(str, pids))})")


def stop_timeout(daemon: str, grace_seconds: float) -> float:
    """execd may wait ``grace_seconds`` for its agent before exiting."""
    return grace_seconds + 10.0 if daemon == "execd" else 10.0


def names(requested: Sequence[str]) -> list[str]:
    """Validate daemon names; empty means all, in a fixed order."""
    if not requested:
        return list(DAEMONS)
    bad = [d for d in requested if d not in DAEMONS]
    if bad:
        raise ValueError(f"unknown daemon {bad[0]!r} (choose from {', '.join(DAEMONS)})")
    return list(dict.fromkeys(requested))
