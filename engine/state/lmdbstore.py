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
5. A write that cannot be recorded (``ENOSPC`` on a full disk, an I/O error)
   goes through :meth:`Store.try_write`: an error line, the caller carries on,
   and :meth:`Store.close` sums up what was not recorded. The ``-lock`` file
   gets real blocks before LMDB maps it (:func:`prepare_lock_file`), so a full
   file system is an error, never a SIGBUS.

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
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import lmdb

from engine.state import lmdbcheck
from engine.state._lmdbopen import (  # re-exported: callers import them from here
    DEFAULT_MAP_SIZE,
    INIT_WAIT,
    ErrorLog,
    StateFileError,
    check_before_open,
    creation_lock,
    prepare_lock_file,
    quarantine,
    reader_health,
    settle,
    usable,
)
from engine.state.lmdbcheck import Health

__all__ = [
    "DEFAULT_MAP_SIZE", "INIT_WAIT", "MAX_MAP_SIZE", "ErrorLog", "StateFileError", "Store",
    "Unreadable", "check_before_open", "creation_lock", "file_info", "prepare_lock_file",
    "quarantine", "reader_health", "reading",
]

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")


MAX_MAP_SIZE = 1 << 40
FAILURE_LINES = 3  # failed writes reported one by one; the rest in the summary at close


_registry_lock = _thread.RLock()  # threading.RLock is this; threading costs an import
_open_envs: dict[str, tuple[lmdb.Environment, bool, int]] = {}  # path -> (env, writable, refs)
_unsynced: set[str] = set()  # paths committed to since their last sync


def _key(path: Path) -> str:
    return os.path.realpath(path)


class Store:
    """A writable single-file LMDB environment (one per path per process)."""

    def __init__(self, path: Path, env: lmdb.Environment, log: ErrorLog | None) -> None:
        self.path = path
        self.env = env
        self.log = log
        self.closed = False
        self._key = _key(path)
        self.failed: list[str] = []  # what could not be recorded (see try_write)
        self.failure = ""  # why, the last time

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
            health = usable(p, deep_check)
            if health.ok and health.exists:
                env = cls._open_env(p, map_size, log)
            else:
                with creation_lock(p.parent):
                    health = settle(p, log, deep_check)
                    env = cls._open_env(p, map_size, log)
            _open_envs[_key(p)] = (env, True, 1)
            if not health.exists or not health.ok:
                _unsynced.add(_key(p))  # a new file: on disk for good at close
        return cls(p, env, log)

    @staticmethod
    def _open_env(p: Path, map_size: int, log: ErrorLog | None) -> lmdb.Environment:
        def attempt() -> lmdb.Environment:
            prepare_lock_file(p)  # no SIGBUS on a full file system
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
                if not usable(p, True).ok:  # still bad under the lock: not someone's new file
                    quarantine(p, str(exc), log)
                return attempt()

    # -- transactions -------------------------------------------------------------------

    def write(self, fn: Callable[[lmdb.Transaction[bytes]], T]) -> T:
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

    def try_write(self, fn: Callable[[lmdb.Transaction[bytes]], T], what: str, default: T) -> T:
        """:meth:`write`, except that a failure to record (a full disk, an I/O
        error) is an error line naming ``what`` and returns ``default``: the run
        goes on, and :meth:`close` says what was not recorded."""
        try:
            return self.write(fn)
        except (lmdb.Error, OSError) as exc:
            self.note_failure(what, exc)
            return default

    def note_failure(self, what: str, exc: BaseException) -> None:
        """Count ``what`` as not recorded; the first few get an error line each."""
        self.failed.append(what)
        self.failure = str(exc) or type(exc).__name__
        if self.log is None or len(self.failed) > FAILURE_LINES:
            return
        more = (" (further failures are summed up at the end of the run)"
                if len(self.failed) == FAILURE_LINES else "")
        self.log.error(f"Could not record {what} in '{self.path}': {self.failure}{more}")

    def read(self, fn: Callable[[lmdb.Transaction[bytes]], T]) -> T:
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
        if self.failed and self.log is not None:
            n = len(self.failed)
            shown = ", ".join(self.failed[:3]) + (f" and {n - 3} more" if n > 3 else "")
            self.log.error(
                f"{n} state change{'s' if n != 1 else ''} could not be recorded in "
                f"'{self.path}' ({self.failure}): {shown}"
            )
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


def _lock_file_backed(p: Path) -> bool:
    """The ``-lock`` file is a regular file with all its blocks: a reader may map
    it (a missing one would be created, a sparse one could SIGBUS on a full disk)."""
    try:
        st = os.lstat(f"{os.fspath(p)}-lock")
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size > 0 and st.st_blocks * 512 >= st.st_size


def _open_readonly(p: Path) -> lmdb.Environment:
    if _lock_file_backed(p):
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
    # system), is missing or not fully allocated, or something else is in its
    # place (never opened then): read without it.
    return lmdb.open(os.fspath(p), subdir=False, readonly=True, lock=False, max_dbs=0)


@contextlib.contextmanager
def reading(path: str | os.PathLike[str]) -> Iterator[lmdb.Transaction[bytes] | None]:
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
