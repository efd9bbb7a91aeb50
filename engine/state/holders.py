"""Who holds a lock: process start times, and stopping an expired holder.

A lock entry stores the holder's PID *and* its start time (seconds since boot,
``/proc/PID/stat`` field 22 divided by ``CLK_TCK``, as CFEngine stores it), so
that an expired lock never gets an unrelated process killed after its PID was
reused.
"""

from __future__ import annotations

import os
import signal
import time

from engine._records import Frozen, set_field

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # a plain base at run time; mypy takes the branch above and checks them

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class KillLog(Protocol):
    def error(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def verbose(self, msg: str) -> None: ...


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may hold spaces and parentheses: fields resume after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def process_start_time(pid: int) -> int | None:
    """Seconds since boot at which ``pid`` started; None if there is no such
    process (zombies count as gone)."""
    if pid <= 0:
        return None
    fields = _stat_fields(pid)
    if not fields or len(fields) < 20 or fields[0] == "Z":
        return None
    return int(fields[19]) // _CLK_TCK  # field 22 overall; fields[0] is field 3


def holder_gone(pid: int, start: int) -> bool:
    """True when the process that took a lock is provably gone: no process
    ``pid`` (or only its zombie), or a process ``pid`` that started at another
    time than the ``start`` stored with the lock (its PID was reused). A
    ``start`` of 0 (entries without a start time) is judged on the PID alone."""
    if pid <= 0:
        return False
    current = process_start_time(pid)
    if current is not None:
        return bool(start) and current != start
    if os.path.exists(f"/proc/{pid}"):
        return True  # a zombie: it has ended, its parent has not reaped it yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False  # alive; /proc says nothing of it (another PID namespace, no /proc)


_OWN_START: int | None = None


def own_start_time() -> int:
    global _OWN_START
    if _OWN_START is None:
        _OWN_START = process_start_time(os.getpid()) or 0
    return _OWN_START


class KillResult(Frozen):
    """``stopped``: the holder is gone (killed now, or already). ``killed``: we sent
    the signal that ended it."""

    __match_args__ = ("stopped", "killed", "message")
    __slots__ = __match_args__
    stopped: bool
    killed: bool
    message: str

    def __init__(self, stopped: bool, killed: bool, message: str) -> None:
        set_field(self, "stopped", stopped)
        set_field(self, "killed", killed)
        set_field(self, "message", message)


def _alive(pid: int, start: int) -> bool:
    return process_start_time(pid) == start


def _wait_gone(pid: int, start: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid, start):
            return True
        time.sleep(0.02)
    return not _alive(pid, start)


def stop_holder(pid: int, start: int, log: KillLog | None = None, grace: float = 1.0) -> KillResult:
    """Stop the process ``pid`` if, and only if, it still started at ``start``:
    SIGINT, then SIGTERM, then SIGKILL, each given ``grace`` seconds."""
    current = process_start_time(pid)
    if current is None:
        msg = f"Process with PID {pid} has already been killed"
        if log:
            log.verbose(msg)
        return KillResult(True, False, msg)
    if current != start:
        msg = f"Process with PID {pid} is not the lock holder any more (it started at a different time)"
        if log:
            log.verbose(msg)
        return KillResult(True, False, msg)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError as exc:
            msg = f"Failed to kill process with PID: {pid} (kill: {exc.strerror})"
            if log:
                log.error(msg)
            return KillResult(False, False, msg)
        if _wait_gone(pid, start, grace):
            break
    if _alive(pid, start):
        msg = f"Failed to kill process with PID: {pid} (it survived SIGKILL)"
        if log:
            log.error(msg)
        return KillResult(False, False, msg)
    msg = f"Process with PID {pid} successfully killed"
    if log:
        log.info(msg)
    return KillResult(True, True, msg)
