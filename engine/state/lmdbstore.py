"""Single-file LMDB environments as CFEngine keeps them, opened safely.

``state/cf_lock.lmdb`` (with ``cf_lock.lmdb-lock`` beside it) is opened with
``subdir=False``, like CFEngine does, so either tool reads the other's files.

Opening for writing (:meth:`Store.open`):

1. :func:`engine.state.lmdbcheck.check` reads the file with ``pread`` (never
   mapped) and rejects a 0-byte, cut-short or garbled file before LMDB maps it
   (mapping a truncated file kills the process with SIGBUS). Files that look odd
   get the deep check.
2. A damaged file is moved aside as ``<name>.corrupt-<epoch>``, an empty one is
   built in its place, and one error line says so; the run goes on.
3. Damage that shows only when a page is read (``MDB_CORRUPTED``) is handled the
   same way in :meth:`Store.write` / :meth:`Store.read`, and the operation is
   retried once on the fresh file.
4. ``MDB_MAP_FULL`` doubles the map and retries the transaction;
   ``MDB_MAP_RESIZED`` (another process grew it) adopts the new size.

Durability trade-off: writers open with ``sync=False``. A commit is then in the
page cache, safe against a crash of this process (LMDB stays consistent and
keeps every commit), but an OS crash or power cut can lose the last commits
(never corrupt older ones, as LMDB writes meta pages last). Locks and
persistent classes are cheap to lose and costly to fsync per promise, so
:meth:`Store.close` (end of run) calls ``env.sync()`` once instead, when this
process committed anything to the file (or created it) since its last sync.

Readers (:func:`reading`) open ``readonly=True``. With write access to the
``-lock`` file they take a reader slot, which never waits for a writer (LMDB
readers and the writer do not block each other). Without write access (a user
reading root's workdir) they fall back to ``lock=False``, which needs no access
to the lock file at all; such a read is a best-effort snapshot, which is what a
status view wants.

Something other than a regular file in place of the database or its ``-lock``
file (a directory, a FIFO, a symbolic link as ``-lock``), or a database this
process may not read, is never opened, followed or moved aside: writers get a
:class:`StateFileError`, readers :class:`Unreadable`, naming that file. Files are
opened with ``O_NONBLOCK``, so a FIFO never makes anyone wait.

One environment per path per process: LMDB refuses to open the same file twice
in one process, so open environments are shared through a small registry.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import lmdb

from engine.state import lmdbcheck
from engine.state.lmdbcheck import Health

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Protocol, TypeVar

    T = TypeVar("T")
else:
    Protocol = object  # the protocols here document what callers pass; nothing checks them


DEFAULT_MAP_SIZE = 104_857_600  # what cf-agent uses; only address space
INIT_WAIT = 2.0  # seconds a file shorter than two pages may take to become a database
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096  # LMDB's page size
MAX_MAP_SIZE = 1 << 40


class ErrorLog(Protocol):
    """The part of a logger this module needs (``engine.log.LineLogger`` fits)."""

    def error(self, msg: str) -> None: ...


_registry_lock = _thread.RLock()  # threading.RLock is this; threading costs an import
_open_envs: dict[str, tuple[lmdb.Environment, bool, int]] = {}  # path -> (env, writable, refs)
_unsynced: set[str] = set()  # paths committed to since their last sync


def _key(path: Path) -> str:
    return os.path.realpath(path)


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


def _usable(path: Path, deep: bool) -> Health:
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


def _settle(path: Path, log: ErrorLog | None, deep: bool) -> Health:
    """Under :func:`creation_lock`: the file's verdict once no one is making it.

    A missing or 0-byte file is a new database (LMDB initialises an empty file,
    as cf-agent does). A file shorter than its two meta pages may be one that
    another program (cf-agent does not take our lock) is initialising right
    now: it gets :data:`INIT_WAIT` seconds to grow into a database before it
    counts as damaged. A damaged file is moved aside."""
    deadline = time.monotonic() + INIT_WAIT
    while True:
        health = _usable(path, deep)
        if health.ok:
            return health
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            return Health(ok=True, exists=False)
        if size == 0:
            return Health(ok=True, exists=False, reason="empty: a new database")
        if size >= 2 * _PAGE:
            health = _confirm_damage(path, health, deep)
            if health.ok:
                return health
            quarantine(path, health.reason, log)
            return health
        if time.monotonic() >= deadline:
            quarantine(path, health.reason, log)
            return health
        time.sleep(0.02)


def _confirm_damage(path: Path, health: Health, deep: bool) -> Health:
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
    under :func:`creation_lock` (see :func:`_settle`) and moved aside when it is
    damaged. Raises :class:`StateFileError` for a file of the wrong type."""
    health = _usable(path, deep)
    if health.ok and health.exists:
        return health
    with creation_lock(path.parent):
        return _settle(path, log, deep)


class Store:
    """A writable single-file LMDB environment (one per path per process)."""

    def __init__(self, path: Path, env: lmdb.Environment, log: ErrorLog | None) -> None:
        self.path = path
        self.env = env
        self.log = log
        self.closed = False
        self._key = _key(path)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        log: ErrorLog | None = None,
        map_size: int = DEFAULT_MAP_SIZE,
        deep_check: bool = False,
    ) -> Store:
        """Open ``path`` for writing, creating it when it is missing.

        A sound database is opened at once. Anything else (missing, 0 bytes,
        short, damaged) is handled under :func:`creation_lock`: judged again
        there, moved aside if damaged, and created by LMDB while the lock is
        held, so agents starting together on a new workdir share one database."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _registry_lock:
            shared = _open_envs.get(_key(p))
            if shared is not None:
                env, writable, refs = shared
                if not writable:
                    raise lmdb.Error(f"'{p}' is open read-only in this process")
                _open_envs[_key(p)] = (env, True, refs + 1)
                return cls(p, env, log)
            health = _usable(p, deep_check)
            if health.ok and health.exists:
                env = cls._open_env(p, map_size, log)
            else:
                with creation_lock(p.parent):
                    health = _settle(p, log, deep_check)
                    env = cls._open_env(p, map_size, log)
            _open_envs[_key(p)] = (env, True, 1)
            if not health.exists or not health.ok:
                _unsynced.add(_key(p))  # a new file: on disk for good at close
        return cls(p, env, log)

    @staticmethod
    def _open_env(p: Path, map_size: int, log: ErrorLog | None) -> lmdb.Environment:
        def attempt() -> lmdb.Environment:
            env = lmdb.open(
                os.fspath(p), subdir=False, map_size=map_size, max_dbs=0,
                sync=False, metasync=False, readahead=False, mode=0o600,
            )
            with contextlib.suppress(lmdb.Error):
                env.reader_check()  # clear slots of readers that died
            return env

        try:
            return attempt()
        except lmdb.InvalidError as exc:  # garbage the pread checks did not catch
            with creation_lock(p.parent):
                if not _usable(p, True).ok:  # still bad under the lock: not someone's new file
                    quarantine(p, str(exc), log)
                return attempt()

    # -- transactions -------------------------------------------------------------------

    def write(self, fn: Callable[[lmdb.Transaction], T]) -> T:
        """Run ``fn`` in one write transaction, committing when it returns.

        Retries after growing a full map, after adopting a map another process
        grew, and once after rebuilding a file found damaged mid-read."""
        rebuilt = False
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    result = fn(txn)
                _unsynced.add(self._key)
                return result
            except lmdb.MapFullError:
                self._grow()
            except lmdb.MapResizedError:
                self.env.set_mapsize(0)
            except lmdb.CorruptedError as exc:
                if rebuilt:
                    raise
                self._rebuild(str(exc))
                rebuilt = True

    def read(self, fn: Callable[[lmdb.Transaction], T]) -> T:
        """Run ``fn`` in a read transaction (same recovery as :meth:`write`)."""
        rebuilt = False
        while True:
            try:
                with self.env.begin() as txn:
                    return fn(txn)
            except lmdb.MapResizedError:
                self.env.set_mapsize(0)
            except lmdb.CorruptedError as exc:
                if rebuilt:
                    raise
                self._rebuild(str(exc))
                rebuilt = True

    def _grow(self) -> None:
        size = int(self.env.info()["map_size"])
        if size >= MAX_MAP_SIZE:
            raise lmdb.MapFullError(f"map of '{self.path}' would exceed {MAX_MAP_SIZE} bytes")
        self.env.set_mapsize(size * 2)

    def _rebuild(self, reason: str) -> None:
        with _registry_lock, creation_lock(self.path.parent):
            size = int(self.env.info()["map_size"])
            self.env.close()
            quarantine(self.path, reason, self.log)
            self.env = self._open_env(self.path, size, self.log)
            entry = _open_envs.get(_key(self.path))
            refs = entry[2] if entry else 1
            _open_envs[_key(self.path)] = (self.env, True, refs)
            _unsynced.add(_key(self.path))

    def verify(self) -> Health:
        """Deep check of the file as it is on disk now (pread only), holding the
        writer lock so that no other process commits while it is read."""
        self.env.sync()
        with self.env.begin(write=True):
            return lmdbcheck.verify(self.path)

    def sync(self) -> None:
        self.env.sync(True)
        _unsynced.discard(self._key)

    def close(self) -> None:
        """Close; the last user of the environment syncs it first, if this
        process committed anything since the last sync."""
        if self.closed:
            return
        self.closed = True
        key = self._key
        with _registry_lock:
            entry = _open_envs.get(key)
            if entry is None:
                return
            env, writable, refs = entry
            if refs > 1:
                _open_envs[key] = (env, writable, refs - 1)
                return
            del _open_envs[key]
            if key in _unsynced:
                _unsynced.discard(key)
                with contextlib.suppress(lmdb.Error):
                    env.sync(True)
            env.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Unreadable(Exception):
    """A reader could not read the file; the message says why (for status views)."""


def _open_readonly(p: Path) -> lmdb.Environment:
    if lmdbcheck.check_lock_file(p) is None:
        try:
            return lmdb.open(
                os.fspath(p), subdir=False, readonly=True, lock=True, max_dbs=0,
                map_size=DEFAULT_MAP_SIZE,
            )
        except (lmdb.InvalidError, lmdb.CorruptedError, lmdb.VersionMismatchError):
            raise
        except lmdb.Error:
            pass
    # The -lock file cannot be opened for writing (no permission, read-only file
    # system) or something else is in its place (never opened then): read without it.
    return lmdb.open(os.fspath(p), subdir=False, readonly=True, lock=False, max_dbs=0)


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


@contextlib.contextmanager
def reading(path: str | os.PathLike[str]) -> Iterator[lmdb.Transaction | None]:
    """A read transaction on ``path``, or ``None`` when the file does not exist.

    Never maps a file that fails the pread check (raises :class:`Unreadable`
    instead), never writes, never waits for a writer."""
    p = Path(path)
    with _registry_lock:
        shared = _open_envs.get(_key(p))
        if shared is not None:
            env, writable, refs = shared
            _open_envs[_key(p)] = (env, writable, refs + 1)
        else:
            health = reader_health(p)
            if not health.exists:
                env = None
            elif not health.ok:
                raise Unreadable(health.reason)
            else:
                try:
                    env = _open_readonly(p)
                except lmdb.Error as exc:
                    raise Unreadable(str(exc)) from exc
                _open_envs[_key(p)] = (env, False, 1)
    if env is None:
        yield None
        return
    try:
        try:
            txn = env.begin()
        except lmdb.MapResizedError:
            env.set_mapsize(0)
            txn = env.begin()
        try:
            yield txn
        except lmdb.CorruptedError as exc:
            raise Unreadable(str(exc)) from exc
        finally:
            txn.abort()
    finally:
        with _registry_lock:
            entry = _open_envs.get(_key(p))
            if entry is not None:
                env2, writable, refs = entry
                if refs > 1:
                    _open_envs[_key(p)] = (env2, writable, refs - 1)
                else:
                    del _open_envs[_key(p)]
                    env2.close()


def file_info(path: str | os.PathLike[str]) -> tuple[int, int | None]:
    """(size in bytes, map size recorded in the file) without mapping it."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        return 0, None
    health = lmdbcheck.check(p)
    return size, (health.meta.map_size if health.meta else None)
