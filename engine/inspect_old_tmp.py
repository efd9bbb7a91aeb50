"""Read models: what the state of a workdir is now, for the CLI and the console.

This module is the only read path onto state. Each function takes a
:class:`~engine.workdir.Workdir` (vigil's, or a real CFEngine one with
``cfengine=True``: the state files have the same names and formats) and returns
frozen dataclasses. LMDB files are checked before they are mapped and opened
read-only; nothing here writes, and nothing here waits for a running agent.

Sections: locks, persistent classes, runs, classes.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from engine.state.persistent import read_all as _read_persistent
from engine.state.runs import PromiseRecord, RunReport, list_reports, load_report, read_header
from engine.workdir import Workdir

# ---------------------------------------------------------------------------------------
# Run report cache (reports never change once written)
# ---------------------------------------------------------------------------------------

_REPORT_CACHE: OrderedDict[tuple[str, int, int], RunReport] = OrderedDict()
_REPORT_CACHE_SIZE = 8


def _cached_report(path: Path) -> RunReport | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    key = (os.fspath(path), st.st_mtime_ns, st.st_size)
    hit = _REPORT_CACHE.get(key)
    if hit is not None:
        _REPORT_CACHE.move_to_end(key)
        return hit
    try:
        report = load_report(path)
    except (OSError, ValueError, TypeError):
        return None
    _REPORT_CACHE[key] = report
    while len(_REPORT_CACHE) > _REPORT_CACHE_SIZE:
        _REPORT_CACHE.popitem(last=False)
    return report


# ---------------------------------------------------------------------------------------
# Locks
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockInfo:
    id: str
    kind: str  # "lock" while a process holds it, else "last"
    bundle: str
    promise_type: str
    promiser: str
    file: str | None
    line: int | None
    last_done: float | None
    ifelapsed_min: int
    expireafter_min: int
    ready_in_seconds: float
    holder_pid: int | None
    held_since: float | None
    expires_in_seconds: float | None


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


_NO_PARTS = LockKeyParts("", "", (), "", "", "")


def ready_in(last: float | None, ifelapsed_min: int, now: float) -> float:
    """Seconds until cf-agent's rule ``trunc((now-last)/60) >= ifelapsed`` lets the
    promise run again; 0 when it may run now."""
    if last is None or ifelapsed_min <= 0:
        return 0.0
    return max(0.0, last + ifelapsed_min * 60 - now)


def _records_for(wd: Workdir, wanted: set[str], max_reports: int = 10) -> dict[str, PromiseRecord]:
    """The newest run report record for each wanted lock id."""
    found: dict[str, PromiseRecord] = {}
    if not wanted:
        return found
    for path in list_reports(wd.runs, limit=max_reports):
        report = _cached_report(path)
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


def locks(wd: Workdir, now: float | None = None) -> LockSnapshot:
    """Every promise lock of the workdir, one :class:`LockInfo` per id, sorted by
    bundle, type and id. ``ifelapsed``/``expireafter`` come from the newest run
    report that names the lock (1 / 120 minutes when none does)."""
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
    records = _records_for(wd, set(by_id))
    infos = []
    for lock_id, kinds in by_id.items():
        rec = records.get(lock_id)
        parts = _NO_PARTS if rec else parse_lock_id(lock_id)
        ifel = rec.ifelapsed if rec and rec.ifelapsed is not None else DEFAULT_IFELAPSED
        expa = rec.expireafter if rec and rec.expireafter is not None else DEFAULT_EXPIREAFTER
        last = kinds.get("last")
        held = kinds.get("lock")
        last_done = float(last.time) if last else None
        infos.append(
            LockInfo(
                id=lock_id,
                kind="lock" if held else "last",
                bundle=rec.bundle if rec else parts.bundle,
                promise_type=rec.promise_type if rec else parts.promise_type,
                promiser=rec.promiser if rec else parts.promiser,
                file=rec.file if rec else None,
                line=rec.line if rec else None,
                last_done=last_done,
                ifelapsed_min=ifel,
                expireafter_min=expa,
                ready_in_seconds=ready_in(last_done, ifel, t),
                holder_pid=held.pid if held else None,
                held_since=float(held.time) if held else None,
                expires_in_seconds=(max(0.0, held.time + expa * 60 - t) if held else None),
            )
        )
    infos.sort(key=lambda i: (i.bundle, i.promise_type, i.id))
    return LockSnapshot(infos, os.fspath(path), size, map_size, n, True, None, horizon)


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


# ---------------------------------------------------------------------------------------
# Persistent classes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersistentClassInfo:
    name: str
    expires: float
    remaining_seconds: float
    policy: str  # "reset" | "preserve"
    tags: list[str] = field(default_factory=list)


def persistent_classes(wd: Workdir, now: float | None = None) -> list[PersistentClassInfo]:
    """Persistent classes still in force (expired ones are left out), by name.
    An unreadable database gives an empty list (``locks()`` style health is in
    :func:`state_health`)."""
    t = time.time() if now is None else now
    try:
        entries = _read_persistent(wd.state_db)
    except (Unreadable, OSError):
        return []
    out = [
        PersistentClassInfo(pc.name, float(pc.expires), pc.expires - t, pc.policy, list(pc.tags))
        for pc in entries
        if t <= pc.expires
    ]
    out.sort(key=lambda p: p.name)
    return out


def state_health(wd: Workdir) -> dict[str, str | None]:
    """File name -> None when sound (or absent), else why it is not."""
    out: dict[str, str | None] = {}
    for p in (wd.lock_db, wd.state_db):
        h = reader_health(p)
        out[p.name] = None if h.ok else h.reason
    return out


# ---------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSummary:
    id: str
    start: float
    end: float
    duration: float
    exit_code: int
    counts: dict[str, int]
    started_by: str
    interrupted: bool
    policy_error: str | None
    flags: list[str] = field(default_factory=list)
    policy_file: str = ""


def _summary(d: dict[str, Any]) -> RunSummary:
    start = float(d.get("start", 0.0))
    end = float(d.get("end", start))
    return RunSummary(
        id=str(d.get("id", "")),
        start=start,
        end=end,
        duration=max(0.0, end - start),
        exit_code=int(d.get("exit_code", 0)),
        counts=dict(d.get("counts") or {}),
        started_by=str(d.get("started_by", "manual")),
        interrupted=bool(d.get("interrupted", False)),
        policy_error=d.get("policy_error"),
        flags=list(d.get("flags") or []),
        policy_file=str(d.get("policy_file", "")),
    )


def runs(wd: Workdir, limit: int = 50) -> list[RunSummary]:
    """The newest ``limit`` runs, newest first. Only each report's head is read."""
    out = []
    for path in list_reports(wd.runs, limit=limit):
        try:
            out.append(_summary(read_header(path)))
        except (OSError, ValueError, TypeError):
            continue
    return out


def run_detail(wd: Workdir, run_id: str) -> RunReport | None:
    """The whole report of one run; ``run_id`` may also be a unique prefix, or
    ``latest``."""
    if run_id == "latest":
        paths = list_reports(wd.runs, limit=1)
    else:
        exact = wd.runs / f"{run_id}.json"
        paths = [exact] if exact.exists() else [
            p for p in list_reports(wd.runs) if p.stem.startswith(run_id)
        ]
    if len(paths) != 1:
        return None
    return _cached_report(paths[0])


# ---------------------------------------------------------------------------------------
# Classes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClassesSnapshot:
    hard: list[str]
    soft: list[str]
    persistent: list[PersistentClassInfo]
    negated: list[str]
    run_id: str | None = None  # the run the soft classes come from


def _hard_classes(wd: Workdir) -> list[str]:
    try:
        from engine.eval import hardclasses  # the evaluator's; imported only when asked
    except ImportError:
        return []
    discover = getattr(hardclasses, "discover", None)
    if discover is None:
        return []
    found = discover(wd.root)
    classes = found[0] if isinstance(found, tuple) else found
    return sorted(classes)


def classes(wd: Workdir, now: float | None = None) -> ClassesSnapshot:
    """Hard classes of this host, soft and negated classes from the newest run
    report, and persistent classes in force."""
    soft: list[str] = []
    negated: list[str] = []
    run_id = None
    newest = list_reports(wd.runs, limit=1)
    if newest:
        report = _cached_report(newest[0])
        if report is not None:
            soft = sorted(report.classes)
            negated = sorted(report.negated)
            run_id = report.id
    return ClassesSnapshot(_hard_classes(wd), soft, persistent_classes(wd, now), negated, run_id)


# ---------------------------------------------------------------------------------------
# Console re-exports: thin wrappers over other modules' read functions, so that the
# console (and the CLI) have one read path. Each imports its module when called, which
# keeps ``import engine.inspect`` light; a module that is not there raises ImportError.
# ---------------------------------------------------------------------------------------


def daemon_statuses(wd: Workdir) -> list[Any]:
    """Each daemon's state, pid, uptime, RSS and CPU (``engine.daemons.status``)."""
    from engine.daemons.status import daemon_statuses as _statuses

    return list(_statuses(wd))


def health(wd: Workdir, statuses: list[Any] | None = None) -> list[Any]:
    """What is wrong with this workdir, each with a fix (``engine.daemons.health``);
    pass ``statuses`` from :func:`daemon_statuses` to avoid measuring them twice."""
    from engine.daemons.health import health as _health

    return list(_health(wd, statuses))


def execd_status(wd: Workdir) -> dict[str, Any] | None:
    """The scheduler's status file (policy_ok, policy_error, next_run_at, splay, ...)."""
    from engine.daemons.execd import read_status

    return read_status(wd.root)


def monitor_snapshot(wd: Workdir) -> list[Any]:
    """monitord's observables: value, average, deviation and the classes they define."""
    try:
        from engine.daemons.observables import monitor_snapshot as _snapshot
    except ImportError:
        from engine.state.monitor import monitor_snapshot as _snapshot
    return list(_snapshot(wd))


def keys(wd: Workdir) -> list[Any]:
    """Peer keys (trusted, pending, rejected) with host, address and when seen."""
    from engine.trust.store import TrustStore

    return TrustStore(wd.ppkeys).list()


def host_fingerprint(wd: Workdir) -> str | None:
    """This host's key fingerprint (``vigil key --print``), None when there is no key."""
    from engine.trust.keys import HostKey, KeyFileError

    try:
        return HostKey(wd.ppkeys).fingerprint
    except (KeyFileError, OSError):
        return None
