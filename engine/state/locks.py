"""Promise locks in ``state/cf_lock.lmdb``, with cf-agent's keys, values and rules.

Keys are ``last.<id>\\0``, ``lock.<id>\\0`` and ``lock_horizon\\0``; values are
24 bytes ``<i4xqq``: pid, time (epoch), process start time (seconds since boot).

* ``last.<id>``: when the promise last completed; drives ``ifelapsed``. If it is
  missing when the lock is taken, it is written at once with the current time,
  so a second agent started at the same moment finds it and stays away.
* ``lock.<id>``: "running now", written on acquisition and deleted on release;
  drives ``expireafter``. A lock whose holder is provably gone (no such PID, or
  a PID started at another time: see ``holders.holder_gone``) is taken over at
  once instead of blocking its promise until ``expireafter``.

:meth:`LockDB.acquire` decides in one write transaction (LMDB serialises writers
across processes), so two agents never both win the same promise. The common
case of a promise still within its ``ifelapsed`` is decided from a read
transaction alone. Elapsed minutes are whole minutes truncated toward zero, as
cf-agent computes them; ``ifelapsed 0`` disables the ``last`` check only.

``-K`` runs never open this database: the agent does not call in here at all.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path

import lmdb

from engine._records import Frozen, set_field
from engine.atomicwrite import atomic_file
from engine.state.holders import holder_gone, own_start_time, stop_holder
from engine.state.lmdbstore import Store
from engine.state.lockname import (  # re-exported: callers import names from here
    canonify,
    expand_lvals,
    lock_name,
    promise_digest,
    split_lock_key,
)

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # a plain base at run time; mypy takes the branch above and checks them

__all__ = [
    "DEFAULT_EXPIREAFTER",
    "DEFAULT_HORIZON",
    "DEFAULT_IFELAPSED",
    "LockDB",
    "LockData",
    "LockDecision",
    "canonify",
    "decode_key",
    "expand_lvals",
    "lock_name",
    "pack",
    "promise_digest",
    "split_lock_key",
    "unpack",
]

DEFAULT_IFELAPSED = 1  # minutes, every promise type (reports too)
DEFAULT_EXPIREAFTER = 120  # minutes
DEFAULT_HORIZON = 4 * 7 * 24 * 3600  # purge last.* older than four weeks
PURGE_INTERVAL = 24 * 3600  # look for old entries at most once a day

VERBOSE = 4  # engine.log.Level.VERBOSE, the level of the skip lines
HORIZON_KEY = b"lock_horizon\0"
_VALUE = struct.Struct("<i4xqq")
_OLD_VALUE = struct.Struct("<i4xq")  # entries without a process start time
_TIME = struct.Struct("<q")


class LockLog(Protocol):
    def error(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def verbose(self, msg: str) -> None: ...


class LockData(Frozen):
    """A lock entry's value: holder PID, time (epoch), holder's start time."""

    __match_args__ = ("pid", "time", "start_time")
    __slots__ = __match_args__
    pid: int
    time: int
    start_time: int

    def __init__(self, pid: int, time: int, start_time: int) -> None:
        set_field(self, "pid", pid)
        set_field(self, "time", time)
        set_field(self, "start_time", start_time)


def pack(data: LockData) -> bytes:
    return _VALUE.pack(data.pid, data.time, data.start_time)


def unpack(raw: bytes) -> LockData | None:
    if len(raw) >= _VALUE.size:
        return LockData(*_VALUE.unpack_from(raw))
    if len(raw) >= _OLD_VALUE.size:
        pid, t = _OLD_VALUE.unpack_from(raw)
        return LockData(pid, t, 0)
    return None


def _key(kind: str, name: str) -> bytes:
    return f"{kind}.{name}\0".encode("utf-8", "surrogateescape")


def decode_key(raw: bytes) -> str:
    """A stored key as text, without its trailing NUL."""
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    return raw.decode("utf-8", "surrogateescape")


def _minutes(seconds: int) -> int:
    """Whole minutes, truncated toward zero (C integer division)."""
    return int(seconds / 60)


class Refusal(StrEnum):
    """Why a lock was not granted. The evaluator maps it to the promise's skip reason
    (the values are the same words), so storage needs no promise vocabulary."""

    LOCKED = "locked"
    ALREADY_RUNNING = "already_running"


class LockDecision(Frozen):
    """The verdict on one promise. ``last_time``: when it last completed (None
    when it never had)."""

    __match_args__ = ("acquired", "reason", "detail", "last_time")
    __slots__ = __match_args__
    acquired: bool
    reason: Refusal | None
    detail: str
    last_time: int | None

    def __init__(self, acquired: bool, reason: Refusal | None = None, detail: str = "",
                 last_time: int | None = None) -> None:
        set_field(self, "acquired", acquired)
        set_field(self, "reason", reason)
        set_field(self, "detail", detail)
        set_field(self, "last_time", last_time)


_UNRECORDED = LockDecision(True, None, "lock not recorded: the lock database could not be written")


class LockDB:
    """The lock database of one workdir, open for writing (one per process).

    A lock or completion that cannot be written (a full disk) does not stop
    the run: the promise runs as it would without locks, an error line says
    so, and closing the database sums up what was not recorded."""

    def __init__(self, store: Store, log: LockLog | None = None) -> None:
        self.store = store
        self.log = log
        self.pid = os.getpid()
        self.start_time = own_start_time()
        self.held: set[str] = set()  # ids acquired and not yet released
        self._gone_pid: int | None = None  # set by _verdict when it took a dead holder's lock

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        log: LockLog | None = None,
        horizon_seconds: int = DEFAULT_HORIZON,
        purge: bool = True,
        now: float | None = None,
    ) -> LockDB:
        """Open (checking the file before mapping it, see ``lmdbstore``) and, at
        most once a day, purge ``last.*`` entries older than ``horizon_seconds``."""
        db = cls(Store.open(path, log=log), log)
        if purge:
            db.maybe_purge(horizon_seconds, now=now)
        return db

    @property
    def path(self) -> Path:
        return self.store.path

    def _value(self, when: int) -> bytes:
        return _VALUE.pack(self.pid, when, self.start_time)

    # -- acquisition ---------------------------------------------------------------------

    def _verdict(
        self, txn: lmdb.Transaction[bytes], name: str, now: int, ifelapsed: int, expireafter: int,
        write: bool,
    ) -> tuple[LockDecision | None, LockData | None, int | None]:
        """(decision if final, expired holder to stop, last time)."""
        last_raw = txn.get(_key("last", name))
        # unpack(last_raw).time: both value layouts keep the time at offset 8
        last_time = _TIME.unpack_from(last_raw, 8)[0] if last_raw is not None and len(
            last_raw) >= _OLD_VALUE.size else None
        if last_time is None:
            if write:
                txn.put(_key("last", name), self._value(now))
        else:
            elapsed = _minutes(now - last_time)
            if elapsed < 0:
                return LockDecision(
                    False, Refusal.LOCKED,
                    "another agent completed it after this run started", last_time,
                ), None, last_time
            if ifelapsed and elapsed < ifelapsed:
                return LockDecision(
                    False, Refusal.LOCKED, f"{elapsed}/{ifelapsed} minutes elapsed", last_time,
                ), None, last_time
        lock_raw = txn.get(_key("lock", name))
        held = unpack(lock_raw) if lock_raw is not None else None
        if held is not None:
            held_min = _minutes(now - held.time)
            if held_min < expireafter and holder_gone(held.pid, held.start_time):
                # killed (kill -9, a crash): nobody will release it; waiting for
                # expireafter would only keep the promise from running
                if not write:
                    return None, None, last_time
                txn.put(_key("lock", name), self._value(now))
                self._gone_pid = held.pid
                return LockDecision(
                    True, None, f"lock holder PID {held.pid} was gone", last_time,
                ), None, last_time
            if held_min < expireafter:
                return LockDecision(
                    False, Refusal.ALREADY_RUNNING,
                    f"held by PID {held.pid} for {held_min}/{expireafter} minutes", last_time,
                ), None, last_time
            return None, held, last_time
        if write:
            txn.put(_key("lock", name), self._value(now))
            return LockDecision(True, None, "", last_time), None, last_time
        return None, None, last_time

    def acquire(
        self,
        name: str,
        ifelapsed_min: int = DEFAULT_IFELAPSED,
        expireafter_min: int = DEFAULT_EXPIREAFTER,
        now: float | None = None,
    ) -> LockDecision:
        """Take the lock for promise ``name`` (an id from :func:`lock_name`), or
        say why not. ``now`` defaults to the current time; the agent may pass its
        start time, as cf-agent does."""
        t = int(time.time() if now is None else now)
        # Fast path: a skip decided from a read transaction is final (a newer
        # last.* or a held lock.* can only make it more so; a lock whose holder
        # is gone is decided in the write transaction).
        # A lock that cannot be written (a full disk) is run as without locks, as
        # when the database cannot be opened at all: the store reports it.
        decision, _holder, _last = self.store.read(
            lambda txn: self._verdict(txn, name, t, ifelapsed_min, expireafter_min, False)
        )
        if decision is None:
            self._gone_pid = None
            unrecorded: tuple[LockDecision | None, LockData | None, int | None] = (
                _UNRECORDED, None, _last)
            decision, holder, last_time = self.store.try_write(
                lambda txn: self._verdict(txn, name, t, ifelapsed_min, expireafter_min, True),
                f"lock.{name}", unrecorded,
            )
            if holder is not None:
                decision = self._expire(name, holder, t, expireafter_min, last_time)
            elif decision is None:  # not reached: a write verdict decides or names a holder
                decision = _UNRECORDED
            elif self._gone_pid is not None and decision.acquired and self.log:
                self.log.verbose(
                    f"Lock holder pid {self._gone_pid} is gone; releasing its lock: lock.{name}")
        if decision.acquired:
            self.held.add(name)
        self._log_skip(name, decision)
        return decision

    def _expire(
        self, name: str, holder: LockData, now: int, expireafter: int, last_time: int | None
    ) -> LockDecision:
        """The lock is older than ``expireafter``: stop its holder, then take it,
        unless another agent took it meanwhile."""
        held_min = _minutes(now - holder.time)
        if self.log:
            self.log.info(f"Lock expired after {held_min}/{expireafter} minutes: lock.{name}")
        if holder.pid != self.pid:
            result = stop_holder(holder.pid, holder.start_time, self.log)
            if not result.stopped:
                return LockDecision(False, Refusal.ALREADY_RUNNING, result.message, last_time)

        def take(txn: lmdb.Transaction[bytes]) -> LockDecision:
            raw = txn.get(_key("lock", name))
            current = unpack(raw) if raw is not None else None
            if current is not None and current != holder:
                return LockDecision(
                    False, Refusal.ALREADY_RUNNING,
                    f"taken over by PID {current.pid} after it expired", last_time,
                )
            txn.put(_key("lock", name), self._value(now))
            return LockDecision(True, None, f"expired after {held_min}/{expireafter} minutes",
                                last_time)

        decision = self.store.try_write(take, f"lock.{name}", _UNRECORDED)
        if decision.acquired and self.log:
            self.log.verbose(f"Lock successfully expired: lock.{name}")
        return decision

    def _log_skip(self, name: str, decision: LockDecision) -> None:
        if self.log is None or decision.acquired:
            return
        enabled = getattr(self.log, "enabled", None)  # a LineLogger says whether to bother
        if enabled is not None and not enabled(VERBOSE):
            return
        if decision.reason is Refusal.LOCKED:
            self.log.verbose(f"Nothing promised here [{('last.' + name)[:40]}] ({decision.detail})")
        elif decision.reason is Refusal.ALREADY_RUNNING:
            self.log.verbose(f"Couldn't obtain lock for lock.{name} (already running!)")

    def release(self, name: str, now: float | None = None) -> None:
        """The promise is done: record ``last.<id>`` and drop our ``lock.<id>``
        (another process's lock entry is left alone)."""
        t = int(time.time() if now is None else now)
        lock_key = _key("lock", name)
        value = self._value(t)

        def done(txn: lmdb.Transaction[bytes]) -> None:
            txn.put(_key("last", name), value)
            raw = txn.get(lock_key)
            if raw is not None:
                held = unpack(raw)
                if held is None or held.pid == self.pid:
                    txn.delete(lock_key)

        self.store.try_write(done, f"last.{name}", None)
        self.held.discard(name)

    def release_held(self, now: float | None = None) -> list[str]:
        """Release every lock this process still holds, as cf-agent does when it
        is told to stop (SIGTERM/SIGINT): ``last.*`` written, ``lock.*`` gone."""
        names = sorted(self.held)
        for name in names:
            self.release(name, now=now)
        return names

    # -- reading and clearing ------------------------------------------------------------

    def get(self, name: str) -> tuple[LockData | None, LockData | None]:
        """(last, lock) entries of one id."""

        def fetch(txn: lmdb.Transaction[bytes]) -> tuple[LockData | None, LockData | None]:
            a = txn.get(_key("last", name))
            b = txn.get(_key("lock", name))
            return (unpack(a) if a else None, unpack(b) if b else None)

        return self.store.read(fetch)

    def entries(self) -> list[tuple[str, LockData | None]]:
        """Every key (as text, no NUL) with its decoded value."""
        return self.store.read(
            lambda txn: [(decode_key(k), unpack(v)) for k, v in txn.cursor()]
        )

    def delete_where(self, pred: Callable[[str, LockData | None], bool]) -> list[str]:
        """Delete the lock entries (``last.*``/``lock.*``) for which ``pred`` is
        true; returns the deleted keys."""

        def run(txn: lmdb.Transaction[bytes]) -> list[str]:
            doomed = []
            for k, v in txn.cursor():
                key = decode_key(k)
                if split_lock_key(key)[0] and pred(key, unpack(v)):
                    doomed.append(k)
            for k in doomed:
                txn.delete(k)
            return [decode_key(k) for k in doomed]

        return self.store.write(run)

    def clear(self, name: str) -> list[str]:
        """Forget one promise's lock: both ``last.<id>`` and ``lock.<id>``."""
        return self.delete_where(lambda key, _v: split_lock_key(key)[1] == name)

    def clear_all(self) -> list[str]:
        return self.delete_where(lambda _k, _v: True)

    def clear_older_than(self, seconds: float, now: float | None = None) -> list[str]:
        cutoff = (time.time() if now is None else now) - seconds
        return self.delete_where(lambda _k, v: v is not None and v.time < cutoff)

    # -- housekeeping --------------------------------------------------------------------

    def horizon(self) -> int | None:
        raw = self.store.read(lambda txn: txn.get(HORIZON_KEY))
        data = unpack(raw) if raw else None
        return data.time if data else None

    def purge(self, horizon_seconds: int = DEFAULT_HORIZON, now: float | None = None) -> int:
        """Delete ``last.*`` entries older than the horizon; record the time of
        this purge in ``lock_horizon``. Returns how many were deleted."""
        t = int(time.time() if now is None else now)
        cutoff = t - horizon_seconds

        def run(txn: lmdb.Transaction[bytes]) -> int:
            doomed = []
            cur = txn.cursor()
            if cur.set_range(b"last."):
                for k, v in cur:
                    if not k.startswith(b"last."):
                        break
                    data = unpack(v)
                    if data is not None and data.time < cutoff:
                        doomed.append(k)
            for k in doomed:
                txn.delete(k)
            txn.put(HORIZON_KEY, _VALUE.pack(0, t, 0))
            return len(doomed)

        return self.store.write(run)

    def maybe_purge(
        self, horizon_seconds: int = DEFAULT_HORIZON, now: float | None = None
    ) -> int | None:
        """Purge when the last purge is a day old (or never happened); on those
        days also deep-check the file and keep ``cf_lock.lmdb.backup``. None
        when it was not due."""
        t = int(time.time() if now is None else now)
        last = self.horizon()
        if last is not None and 0 <= t - last < PURGE_INTERVAL:
            return None
        try:
            removed = self.purge(horizon_seconds, now=t)
            health = self.store.verify()
        except (lmdb.Error, OSError) as exc:  # a full disk: try again next run
            self.store.note_failure("the daily purge of old lock entries", exc)
            return None
        if not health.ok:
            self.store._rebuild(health.reason)
        else:
            self._backup()
        return removed

    def _backup(self) -> None:
        """A compacted copy as ``cf_lock.lmdb.backup``, written then renamed."""
        dest = self.path.with_name(self.path.name + ".backup")
        try:
            with atomic_file(dest, 0o600, sync=False) as staged:  # a spare copy: no fsync
                self.store.env.copyfd(staged.file.fileno(), compact=True)
        except (OSError, lmdb.Error):
            pass

    def sync(self) -> None:
        self.store.sync()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> LockDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[tuple[str, LockData | None]]:
        return iter(self.entries())
