"""Classes: persistent ones from ``state/cf_state.lmdb``, hard and soft ones from the
last evaluation (vigil: this host's discovery and the newest run report; CFEngine:
``cf-promises --show-classes``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine.cfengine.classes import show_classes
from engine.inspect._reports import cached_report
from engine.state.lmdbstore import Unreadable, reader_health
from engine.state.persistent import read_all as _read_persistent
from engine.state.runs import list_reports
from engine.workdir import Workdir


@dataclass(frozen=True, slots=True)
class PersistentClassInfo:
    name: str
    expires: float
    remaining_seconds: float
    policy: str  # "reset" | "preserve"
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ClassesSnapshot:
    hard: list[str]
    soft: list[str]
    persistent: list[PersistentClassInfo]
    negated: list[str]
    run_id: str | None = None  # the run the soft classes come from
    source: str = ""  # where hard and soft classes come from, in words
    note: str | None = None  # why hard/soft classes are missing


def persistent_classes(wd: Workdir, now: float | None = None) -> list[PersistentClassInfo]:
    """Persistent classes still in force (expired ones are left out), by name.
    An unreadable database gives an empty list (see :func:`state_health`)."""
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


def _hard_classes(wd: Workdir) -> list[str]:
    # the evaluator's discovery, imported when asked (it is heavy and above this layer)
    from engine.eval.hardclasses import discover

    classes, _ = discover(wd.root)
    return sorted(classes)


def classes(wd: Workdir, now: float | None = None) -> ClassesSnapshot:
    """Hard, soft, negated and persistent classes."""
    persistent = persistent_classes(wd, now)
    if wd.cfengine:
        shown = show_classes(wd.root, now)
        pnames = {p.name for p in persistent}
        soft: list[str] = [c for c in shown.soft if c not in pnames]
        return ClassesSnapshot(shown.hard, soft, persistent, [], None,
                               "cf-promises --show-classes (common bundles)", shown.note)
    soft = []
    negated: list[str] = []
    run_id = None
    newest = list_reports(wd.runs, limit=1)
    if newest:
        report = cached_report(newest[0])
        if report is not None:
            soft = sorted(report.classes)
            negated = sorted(report.negated)
            run_id = report.id
    return ClassesSnapshot(_hard_classes(wd), soft, persistent, negated, run_id,
                           "this host now; soft classes from the newest run")
