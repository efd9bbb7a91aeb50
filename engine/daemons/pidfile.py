"""Pidfiles and the single-instance lock of a daemon.

A daemon holds an exclusive ``flock`` on ``<wd>/state/<daemon>.lock`` for its
whole life, so two copies for one workdir can never run at once, even when
started in the same instant. The pidfile ``<wd>/<daemon>.pid`` (``PID\\n``, as
CFEngine writes it) is written atomically after the lock is taken and removed
on a clean exit. A pidfile names a running daemon when that process runs our
daemon for this workdir (``-m engine <daemon> ... -w <wd>``) or, however it was
started (``vigil serverd -F``, ``VIGIL_WORKDIR``), holds the daemon's lock; any
other pidfile is *stale*. The lock's holder is read from ``/proc/locks``, never
by taking the lock, which would make a daemon starting at that instant fail.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from engine.atomicwrite import write_atomic
from engine.daemons import procs
from engine.workdir import make_dirs


class AlreadyRunning(RuntimeError):
    """Another instance of the daemon holds the lock for this workdir."""

    def __init__(self, daemon: str, pid: int | None) -> None:
        self.daemon = daemon
        self.pid = pid
        where = f" (pid {pid})" if pid else ""
        super().__init__(f"{daemon} is already running for this workdir{where}")


def pidfile_path(root: Path, daemon: str) -> Path:
    return root / f"{daemon}.pid"


def lock_path(root: Path, daemon: str) -> Path:
    return root / "state" / f"{daemon}.lock"


def read_pid(root: Path, daemon: str) -> int | None:
    """The pid in the pidfile, or None when absent or unreadable."""
    try:
        text = pidfile_path(root, daemon).read_text().strip()
    except OSError:
        return None
    try:
        pid = int(text.split()[0]) if text else 0
    except ValueError:
        return None
    return pid if pid > 0 else None


def write_pid(root: Path, daemon: str, pid: int | None = None) -> None:
    path = pidfile_path(root, daemon)
    make_dirs(path.parent, 0o755)
    write_atomic(path, f"{pid or os.getpid()}\n".encode(), 0o644)


def remove_pid(root: Path, daemon: str, pid: int | None = None) -> None:
    """Remove the pidfile if it still names ``pid`` (default: this process)."""
    if read_pid(root, daemon) == (pid or os.getpid()):
        try:
            pidfile_path(root, daemon).unlink()
        except FileNotFoundError:
            pass


@dataclass
class PidState:
    """What the pidfile says: ``running`` (pid alive and ours), ``stale``, ``stopped``."""

    state: str
    pid: int | None


def check(root: Path, daemon: str) -> PidState:
    pid = read_pid(root, daemon)
    if pid is None:
        return PidState("stopped", None)
    if is_running(root, daemon, pid):
        return PidState("running", pid)
    return PidState("stale", pid)


def is_running(root: Path, daemon: str, pid: int) -> bool:
    """``pid`` is ``daemon`` for ``root``: by its command line, or holding the lock."""
    return procs.is_our_daemon(pid, daemon, root) or (
        procs.alive(pid) and lock_holder(root, daemon) == pid
    )


def lock_holder(root: Path, daemon: str) -> int | None:
    """The pid holding ``daemon``'s lifetime lock for ``root`` (None: nobody, or unknown).

    Read from ``/proc/locks`` by the lock file's inode, and confirmed by the holder
    having that file open (an inode number alone may be another filesystem's).
    """
    path = lock_path(root, daemon)
    try:
        ino = os.stat(path).st_ino
        with open("/proc/locks", "rb") as fh:
            table = fh.read().split(b"\n")
    except OSError:
        return None
    suffix = b":%d" % ino
    for line in table:
        f = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"; waiters have "->" in [1]
        if len(f) >= 6 and f[1] == b"FLOCK" and f[5].endswith(suffix):
            pid = int(f[4])
            if _has_open(pid, path):
                return pid
    return None


def _has_open(pid: int, path: Path) -> bool:
    """Whether ``pid`` has ``path`` open (True when its fds may not be read)."""
    target = os.path.realpath(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except PermissionError:
        return True
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


class DaemonLock:
    """The lifetime lock and pidfile of one daemon process.

    ``claim`` raises :class:`AlreadyRunning` when another process holds the lock.
    """

    def __init__(self, root: Path, daemon: str) -> None:
        self.root = root
        self.daemon = daemon
        self._fd: int | None = None

    def claim(self, publish: bool = True) -> DaemonLock:
        """Take the lock; write the pidfile now unless ``publish`` is False.

        A daemon that is not ready until it has bound a port claims without
        publishing and calls :meth:`publish` once ready, because the supervisor
        takes a pidfile naming a live process as "started".
        """
        path = lock_path(self.root, self.daemon)
        make_dirs(path.parent, 0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(self.daemon, read_pid(self.root, self.daemon)) from None
        self._fd = fd
        if publish:
            self.publish()
        return self

    def publish(self) -> None:
        write_pid(self.root, self.daemon)

    def release(self) -> None:
        if self._fd is None:
            return
        remove_pid(self.root, self.daemon)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> DaemonLock:
        return self.claim()

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim(root: Path, daemon: str, publish: bool = True) -> DaemonLock:
    """Take the single-instance lock and (unless ``publish`` is False) write the pidfile."""
    return DaemonLock(root, daemon).claim(publish)


def is_locked(root: Path, daemon: str) -> bool:
    """True when some process holds the daemon's lifetime lock for ``root``."""
    if lock_holder(root, daemon) is not None:
        return True
    if os.path.exists("/proc/locks"):
        return False
    # Without /proc/locks, try the lock (a daemon starting this instant may lose it).
    path = lock_path(root, daemon)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
