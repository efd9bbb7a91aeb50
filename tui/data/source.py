"""Every read the console makes, each through ``engine.inspect`` (imported statically).

Each read returns a :class:`Fetched` holding the typed record, or why there is none: a
read model that raises (a damaged file, a race with a writer) must not take the console
down, so its error is shown in words where the data would be. These methods run in
thread workers; they never touch widgets.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import psutil

from engine import inspect
from engine.inspect import (
    ClassesSnapshot,
    DaemonInfo,
    ExecdStatus,
    HealthIssue,
    KeysView,
    LockSnapshot,
    Observable,
    RunDetail,
    RunSummary,
)
from engine.workdir import Workdir

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """A value read from the engine, or why there is none (``missing``)."""

    value: T | None = None
    missing: str | None = None

    @property
    def ok(self) -> bool:
        return self.missing is None


def fetch(read: Callable[[], T | None]) -> Fetched[T]:
    """``read()``, with an exception turned into words (a read may find nothing: None)."""
    try:
        return Fetched(read())
    except Exception as exc:  # noqa: BLE001 - shown on screen instead of crashing
        return Fetched(missing=f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class SelfStats:
    """The console's own process, shown under the daemons."""

    pid: int
    rss_bytes: int
    cpu_percent: float
    uptime_s: float


@dataclass(frozen=True, slots=True)
class Common:
    """Read on every tick, whatever screen is showing: the header line and the overview."""

    daemons: Fetched[list[DaemonInfo]]
    health: Fetched[list[HealthIssue]]
    execd: Fetched[ExecdStatus]  # value None: no plan recorded (cf-execd keeps none)
    last_run: Fetched[RunSummary]  # value None: no run yet
    me: SelfStats | None
    at: float


class Source:
    """Reads for one workdir. ``clock`` is the console's clock (frozen in tests)."""

    def __init__(
        self,
        workdir: Workdir,
        clock: Callable[[], float] = time.time,
        self_stats: Callable[[], SelfStats | None] | None = None,
    ) -> None:
        self.workdir = workdir
        self.clock = clock
        self._self_stats = self_stats or _own_process_stats()

    # -- every tick --------------------------------------------------------------

    def common(self) -> Common:
        wd = self.workdir
        runs = self.runs(limit=1)
        last: Fetched[RunSummary] = (
            Fetched(runs.value[0] if runs.value else None) if runs.ok else Fetched(missing=runs.missing)
        )
        daemons = fetch(lambda: inspect.daemon_statuses(wd))
        return Common(
            daemons=daemons,
            health=fetch(lambda: inspect.health(wd, daemons.value if daemons.ok else None)),
            execd=self.execd_status(),
            last_run=last,
            me=self._self_stats(),
            at=self.clock(),
        )

    def execd_status(self) -> Fetched[ExecdStatus]:
        return fetch(lambda: inspect.execd_status(self.workdir, now=self.clock()))

    # -- per screen --------------------------------------------------------------

    def locks(self) -> Fetched[LockSnapshot]:
        return fetch(lambda: inspect.locks(self.workdir, now=self.clock()))

    def classes(self) -> Fetched[ClassesSnapshot]:
        return fetch(lambda: inspect.classes(self.workdir, now=self.clock()))

    def runs(self, limit: int = 50) -> Fetched[list[RunSummary]]:
        return fetch(lambda: inspect.runs(self.workdir, limit=limit))

    def run_detail(self, run_id: str) -> Fetched[RunDetail]:
        return fetch(lambda: inspect.run_detail(self.workdir, run_id))

    def monitor(self) -> Fetched[list[Observable]]:
        return fetch(lambda: inspect.monitor_snapshot(self.workdir))

    def keys(self) -> Fetched[KeysView]:
        return fetch(lambda: inspect.keys(self.workdir))


def _own_process_stats() -> Callable[[], SelfStats | None]:
    """psutil reads of the console process; the first CPU read primes the counter."""
    proc = psutil.Process(os.getpid())
    proc.cpu_percent(None)
    started = proc.create_time()

    def stats() -> SelfStats | None:
        try:
            with proc.oneshot():
                return SelfStats(
                    pid=proc.pid,
                    rss_bytes=proc.memory_info().rss,
                    cpu_percent=proc.cpu_percent(None),
                    uptime_s=max(0.0, time.time() - started),
                )
        except psutil.Error:
            return None

    return stats
