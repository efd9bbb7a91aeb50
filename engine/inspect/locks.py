"""Promise locks: what may run when, and which promise each lock belongs to.

For a vigil workdir a lock's ``ifelapsed``/``expireafter`` and source position come
from the newest run report naming it. For a CFEngine workdir they come from the policy
the agent ran (:mod:`engine.cfengine.lockrules`); a lock no promise can be matched to
has ``ifelapsed_min=None`` ("unknown"), never a default that may be wrong. A ``lock.``
entry whose holder pid is not alive is ``stale``, not held.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.cfengine.lockrules import match as match_rule
from engine.cfengine.lockrules import rules_for
from engine.inspect._reports import cached_report
from engine.state.holders import holder_gone
from engine.state.lmdbstore import Unreadable, reader_health, reading
from engine.state.lockname import LockKeyParts, parse_lock_id
from engine.state.locks import (
    DEFAULT_EXPIREAFTER,
    DEFAULT_IFELAPSED,
    LockData,
    decode_key,
    split_lock_key,
    unpack,
)
from engine.state.runs import PromiseRecord, list_reports
from engine.workdir import Workdir


@dataclass(frozen=True, slots=True)
class LockInfo:
    id: str
    kind: str  # "lock" while a process holds it (see holder_gone), else "last"
    bundle: str
    promise_type: str
    promiser: str
    file: str | None
    line: int | None
    last_done: float | None
    ifelapsed_min: int | None  # None: unknown (no promise matches the lock)
    expireafter_min: int | None
    ready_in_seconds: float | None  # None: unknown
    holder_pid: int | None
    held_since: float | None
    expires_in_seconds: float | None
    note: str = ""  # why a value is unknown
    holder_gone: bool = False  # the holder process has ended (or its PID was reused): stale


@dataclass(frozen=True, slots=True)
class LockSnapshot:
    locks: list[LockInfo]
    db_path: str
    db_size_bytes: int
    map_size: int | None
    entries: int
    healthy: bool
    error: str | None = None
    horizon: float | None = None  # time of the last purge (lock_horizon)
    rules_note: str | None = None  # CFEngine: why the policy could not give the times


_NO_PARTS = LockKeyParts("", "", (), "", "", "")


def ready_in(last: float | None, ifelapsed_min: int | None, now: float) -> float | None:
    """Seconds until cf-agent's rule ``trunc((now-last)/60) >= ifelapsed`` lets the
    promise run again; 0 when it may run now; None when ``ifelapsed`` is unknown."""
    if ifelapsed_min is None:
        return None if last is not None else 0.0
    if last is None or ifelapsed_min <= 0:
        return 0.0
    return max(0.0, last + ifelapsed_min * 60 - now)


def _records_for(wd: Workdir, wanted: set[str], max_reports: int = 10) -> dict[str, PromiseRecord]:
    """The newest run report record for each wanted lock id."""
    found: dict[str, PromiseRecord] = {}
    if not wanted:
        return found
    for path in list_reports(wd.runs, limit=max_reports):
        report = cached_report(path)
        if report is None:
            continue
        for rec in report.promises:
            if rec.lock_id and rec.lock_id in wanted and rec.lock_id not in found:
                found[rec.lock_id] = rec
        if len(found) == len(wanted):
            break
    return found


def _read_lock_entries(path: Path) -> tuple[dict[str, dict[str, LockData]], float | None, int]:
    by_id: dict[str, dict[str, LockData]] = {}
    horizon = None
    n = 0
    with reading(path) as txn:
        if txn is None:
            return by_id, None, 0
        for k, v in txn.cursor():
            n += 1
            key = decode_key(bytes(k))
            data = unpack(bytes(v))
            if data is None:
                continue
            kind, lock_id = split_lock_key(key)
            if not kind:
                if key == "lock_horizon":
                    horizon = float(data.time)
                continue
            by_id.setdefault(lock_id, {})[kind] = data
    return by_id, horizon, n


@dataclass(frozen=True, slots=True)
class _Source:
    bundle: str
    promise_type: str
    promiser: str
    file: str | None
    line: int | None
    ifelapsed: int | None
    expireafter: int | None
    note: str


def _vigil_sources(wd: Workdir, ids: set[str]) -> dict[str, _Source]:
    records = _records_for(wd, ids)
    out = {}
    for lock_id in ids:
        rec = records.get(lock_id)
        if rec is not None:
            out[lock_id] = _Source(
                rec.bundle, rec.promise_type, rec.promiser, rec.file, rec.line,
                rec.ifelapsed if rec.ifelapsed is not None else DEFAULT_IFELAPSED,
                rec.expireafter if rec.expireafter is not None else DEFAULT_EXPIREAFTER, "")
        else:
            p = parse_lock_id(lock_id)
            out[lock_id] = _Source(p.bundle, p.promise_type, p.promiser, None, None,
                                   DEFAULT_IFELAPSED, DEFAULT_EXPIREAFTER, "")
    return out


def _cfengine_sources(wd: Workdir, ids: set[str]) -> tuple[dict[str, _Source], str | None]:
    rules = rules_for(wd.root)
    out = {}
    for lock_id in ids:
        p = parse_lock_id(lock_id)
        m = match_rule(rules, p)
        out[lock_id] = _Source(p.bundle, p.promise_type, p.promiser, m.file, m.line,
                               m.ifelapsed, m.expireafter, m.note)
    return out, rules.error


def locks(wd: Workdir, now: float | None = None) -> LockSnapshot:
    """Every promise lock of the workdir, one :class:`LockInfo` per id, sorted by
    bundle, type and id."""
    t = time.time() if now is None else now
    path = wd.lock_db
    size = 0
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return LockSnapshot([], os.fspath(path), 0, None, 0, True, None)
    health = reader_health(path)
    map_size = health.meta.map_size if health.meta else None
    if not health.exists:  # 0 bytes: an agent is creating it
        return LockSnapshot([], os.fspath(path), size, None, 0, True, None)
    if not health.ok:
        return LockSnapshot([], os.fspath(path), size, map_size, 0, False, health.reason)
    try:
        by_id, horizon, n = _read_lock_entries(path)
    except (Unreadable, OSError) as exc:
        return LockSnapshot([], os.fspath(path), size, map_size, 0, False, str(exc))
    rules_note = None
    if wd.cfengine:
        sources, rules_note = _cfengine_sources(wd, set(by_id))
    else:
        sources = _vigil_sources(wd, set(by_id))
    infos = []
    for lock_id, kinds in by_id.items():
        src = sources[lock_id]
        last = kinds.get("last")
        held = kinds.get("lock")
        gone = held is not None and holder_gone(held.pid, held.start_time)
        last_done = float(last.time) if last else None
        expa = src.expireafter
        infos.append(
            LockInfo(
                id=lock_id,
                kind="lock" if held else "last",
                bundle=src.bundle,
                promise_type=src.promise_type,
                promiser=src.promiser,
                file=src.file,
                line=src.line,
                last_done=last_done,
                ifelapsed_min=src.ifelapsed,
                expireafter_min=expa,
                ready_in_seconds=ready_in(last_done, src.ifelapsed, t),
                holder_pid=held.pid if held else None,
                held_since=float(held.time) if held else None,
                expires_in_seconds=(max(0.0, held.time + expa * 60 - t)
                                    if held and expa is not None else None),
                note=src.note,
                holder_gone=gone,
            )
        )
    infos.sort(key=lambda i: (i.bundle, i.promise_type, i.id))
    return LockSnapshot(infos, os.fspath(path), size, map_size, n, True, None, horizon, rules_note)


def lock_last_times(wd: Workdir, lock_ids: Iterable[str]) -> dict[str, float]:
    """When each promise behind ``lock_ids`` last completed (``last.<id>``), in
    one read transaction; ids without an entry are left out."""
    out: dict[str, float] = {}
    try:
        with reading(wd.lock_db) as txn:
            if txn is None:
                return out
            for lock_id in lock_ids:
                raw = txn.get(f"last.{lock_id}\0".encode("utf-8", "surrogateescape"))
                data = unpack(bytes(raw)) if raw is not None else None
                if data is not None:
                    out[lock_id] = float(data.time)
    except (Unreadable, OSError):
        pass
    return out
