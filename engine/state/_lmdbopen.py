"""Judging a single-file LMDB database before opening it, and creating one race-free.

Part of :mod:`engine.state.lmdbstore` (which re-exports these names):

* :func:`usable`: the pread checks of :mod:`engine.state.lmdbcheck` plus the file
  type of the database and of its ``-lock`` file (:class:`StateFileError`).
* :func:`creation_lock`: an ``flock`` on the state directory, held while a
  database is created, judged damaged or rebuilt.
* :func:`settle`: the verdict under that lock: missing or 0 bytes is a new
  database, a short file gets :data:`INIT_WAIT` seconds to grow, a live file is
  judged damaged only under LMDB's writer lock (:func:`confirm_damage`), and a
  damaged file is moved aside (:func:`quarantine`).
* :func:`prepare_lock_file`: the ``-lock`` file LMDB maps gets real blocks
  before LMDB writes through the map: on a full file system an unbacked page of
  a mapped file kills the process with SIGBUS, an allocation failure is an error.
* :func:`reader_health`: the verdict for readers, who take no lock.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import lmdb

from engine.state import lmdbcheck
from engine.state.lmdbcheck import Health

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # a plain base at run time; mypy takes the branch above and checks them

DEFAULT_MAP_SIZE = 104_857_600  # what cf-agent uses; only address space
INIT_WAIT = 2.0  # seconds a file shorter than two pages may take to become a database
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096  # LMDB's page size
LOCK_FILE_SIZE = 8192  # what LMDB makes for its default 126 reader slots


class ErrorLog(Protocol):
    """The part of a logger this module needs (``engine.log.LineLogger`` fits)."""

    def error(self, msg: str) -> None: ...


def quarantine(path: Path, reason: str, log: ErrorLog | None) -> Path:
    """Move a damaged file aside as ``<name>.corrupt-<epoch>`` and report it once."""
    dest = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    n = 1
    while dest.exists():
        dest = path.with_name(f"{path.name}.corrupt-{int(time.time())}.{n}")
        n += 1
    os.replace(path, dest)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(f"{path}-lock")  # the reader table of the old file
    if log is not None:
        log.error(
            f"Database '{path}' is damaged ({reason}); moved it aside to '{dest.name}' "
            "and started an empty one"
        )
    return dest


class StateFileError(lmdb.Error):
    """A state file cannot be used as it stands: something other than a regular
    file in its place (or in place of its ``-lock`` file), or no permission to
    read it. Nothing is moved aside; the message names the file."""


def usable(path: Path, deep: bool) -> Health:
    """The pread checks, plus the deep one for a file that looks odd. Raises
    :class:`StateFileError` when the file, or its ``-lock`` file, is not a
    regular file this process may read."""
    health = lmdbcheck.check(path, deep=deep)
    if health.foreign:
        raise StateFileError(health.reason)
    problem = lmdbcheck.check_lock_file(path)
    if problem is not None:
        raise StateFileError(problem)
    if health.ok and health.suspicious and not deep:
        health = lmdbcheck.verify(path)
    return health


_creation_depth: dict[str, tuple[int, int]] = {}  # directory -> (fd, depth) held here


@contextlib.contextmanager
def creation_lock(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the state directory, held while a database in it
    is created, judged damaged or rebuilt, so that no agent takes another's
    half-made file for a damaged one. Re-entrant within the process; where the
    file system has no ``flock`` (some network file systems) it goes without."""
    import fcntl

    key = os.fspath(directory)
    held = _creation_depth.get(key)
    if held is not None:
        _creation_depth[key] = (held[0], held[1] + 1)
        try:
            yield
        finally:
            fd, depth = _creation_depth[key]
            _creation_depth[key] = (fd, depth - 1)
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        _creation_depth[key] = (fd, 1)
        try:
            yield
        finally:
            del _creation_depth[key]
    finally:
        os.close(fd)  # releases the flock


def settle(path: Path, log: ErrorLog | None, deep: bool) -> Health:
    """Under :func:`creation_lock`: the file's verdict once no one is making it.

    A missing or 0-byte file is a new database (LMDB initialises an empty file,
    as cf-agent does). A file shorter than its two meta pages may be one that
    another program (cf-agent does not take our lock) is initialising right
    now: it gets :data:`INIT_WAIT` seconds to grow into a database before it
    counts as damaged. A damaged file is moved aside."""
    deadline = time.monotonic() + INIT_WAIT
    while True:
        health = usable(path, deep)
        if health.ok:
            return health
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            return Health(ok=True, exists=False)
        if size == 0:
            return Health(ok=True, exists=False, reason="empty: a new database")
        if size >= 2 * _PAGE:
            health = confirm_damage(path, health, deep)
            if health.ok:
                return health
            quarantine(path, health.reason, log)
            return health
        if time.monotonic() >= deadline:
            quarantine(path, health.reason, log)
            return health
        time.sleep(0.02)


def confirm_damage(path: Path, health: Health, deep: bool) -> Health:
    """Check ``path`` again while holding LMDB's writer lock, so that no other
    process commits (and reuses pages) during the read: a live database that
    only looked damaged mid-commit passes. Files whose meta pages LMDB itself
    refuses stay damaged. Only meta pages are touched through the map."""
    try:
        env = lmdb.open(os.fspath(path), subdir=False, max_dbs=0, map_size=DEFAULT_MAP_SIZE,
                        readahead=False, mode=0o600)
    except lmdb.Error:
        return health
    try:
        with env.begin(write=True):
            again = lmdbcheck.check(path, deep=deep)
            if again.ok and again.suspicious and not deep:
                again = lmdbcheck.verify(path)
            return again
    except lmdb.Error:
        return health
    finally:
        env.close()


def check_before_open(path: Path, log: ErrorLog | None, deep: bool = False) -> Health:
    """Run the pread checks; a file that is not a sound database is judged again
    under :func:`creation_lock` (see :func:`settle`) and moved aside when it is
    damaged. Raises :class:`StateFileError` for a file of the wrong type."""
    health = usable(path, deep)
    if health.ok and health.exists:
        return health
    with creation_lock(path.parent):
        return settle(path, log, deep)


def prepare_lock_file(path: Path) -> None:
    """Give ``<path>-lock`` real blocks for the size LMDB maps, before LMDB opens it.

    LMDB sizes its lock file with ``ftruncate`` and writes through a shared map;
    on a full file system (a small tmpfs) such a sparse page cannot be backed and
    the write kills the process with SIGBUS. Allocated up front, the failure is
    an ``ENOSPC`` here instead, raised as :class:`StateFileError` naming the file.
    Never follows a symbolic link or opens anything but a regular file."""
    lock = f"{os.fspath(path)}-lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     0o600)
    except OSError as exc:
        problem = lmdbcheck.check_lock_file(path)
        raise StateFileError(problem or f"{lock}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StateFileError(lmdbcheck.check_lock_file(path) or f"{lock}: not a regular file")
        need = max(st.st_size, LOCK_FILE_SIZE)
        if st.st_blocks * 512 < need:
            try:
                os.posix_fallocate(fd, 0, need)
            except OSError as exc:
                if st.st_size == 0:  # ours, just made: leave no empty lock file behind
                    with contextlib.suppress(OSError):
                        os.unlink(lock)
                raise StateFileError(f"{lock}: {exc.strerror}") from None
    finally:
        os.close(fd)


def reader_health(path: str | os.PathLike[str]) -> Health:
    """:func:`lmdbcheck.check` for readers, who take no lock: a 0-byte file is a
    database being created (nothing in it yet, reported as absent), and a
    "damaged" verdict is checked again twice, 20 ms apart, since a writer may
    have been committing while the file was read."""
    for attempt in range(3):
        health = lmdbcheck.check(path)
        if health.ok or health.foreign:
            return health
        with contextlib.suppress(OSError):
            if os.stat(path).st_size == 0:
                return Health(ok=True, exists=False, reason="empty: being created")
        if attempt < 2:
            time.sleep(0.02)
    return health
