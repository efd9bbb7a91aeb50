"""Every read the console makes, each through ``engine.inspect``.

Functions are looked up when called, not imported at start: the read models land in
``engine.inspect`` one by one, and a screen whose source is missing says
"not available" instead of failing. Each read returns a :class:`Fetched` that holds the
value or the reason there is none. These methods run in thread workers; they never
touch widgets.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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

    daemons: Fetched[list[Any]]
    health: Fetched[list[Any]]
    execd: Fetched[dict[str, Any]]
    last_run: Fetched[Any]
    me: SelfStats | None
    at: float


@dataclass(frozen=True, slots=True)
class KeysView:
    """This host's key and its peers, as the Keys screen shows them."""

    fingerprint: str | None
    peers: list[Any] = field(default_factory=list)


def _lookup(*candidates: str) -> Callable[..., Any] | None:
    """The first of ``"module:function"`` that exists, else None."""
    for spec in candidates:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        fn = getattr(module, attr, None)
        if callable(fn):
            return fn
    return None


def _call(candidates: tuple[str, ...], *args: Any, **kwargs: Any) -> Fetched[Any]:
    fn = _lookup(*candidates)
    if fn is None:
        name = candidates[0].replace(":", ".")
        return Fetched(missing=f"not available ({name} is missing)")
    try:
        return Fetched(fn(*args, **kwargs))
    except ImportError as exc:  # the module behind a re-export has not landed
        return Fetched(missing=f"not available ({exc.name or exc} is missing)")
    except Exception as exc:  # a read model failing must not take the console down
        return Fetched(missing=f"{type(exc).__name__}: {exc}")


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
        last: Fetched[Any]
        if runs.ok:
            last = Fetched(runs.value[0] if runs.value else None)
        else:
            last = Fetched(missing=runs.missing)
        daemons = _call(("engine.inspect:daemon_statuses",), wd)
        return Common(
            daemons=daemons,
            health=_call(("engine.inspect:health",), wd, daemons.value if daemons.ok else None),
            execd=self.execd_status(),
            last_run=last,
            me=self._self_stats(),
            at=self.clock(),
        )

    def execd_status(self) -> Fetched[dict[str, Any]]:
        got = _call(("engine.inspect:execd_status",), self.workdir)
        if got.ok and got.value is None:
            return Fetched(missing="no scheduler status yet (execd has not written one)")
        return got

    # -- per screen --------------------------------------------------------------

    def locks(self) -> Fetched[Any]:
        return _call(("engine.inspect:locks",), self.workdir, now=self.clock())

    def classes(self) -> Fetched[Any]:
        return _call(("engine.inspect:classes",), self.workdir)

    def persistent_classes(self) -> Fetched[list[Any]]:
        return _call(("engine.inspect:persistent_classes",), self.workdir, now=self.clock())

    def runs(self, limit: int = 50) -> Fetched[list[Any]]:
        return _call(("engine.inspect:runs",), self.workdir, limit=limit)

    def run_detail(self, run_id: str) -> Fetched[Any]:
        return _call(("engine.inspect:run_detail",), self.workdir, run_id)

    def monitor(self) -> Fetched[list[Any]]:
        return _call(("engine.inspect:monitor_snapshot",), self.workdir)

    def keys(self) -> Fetched[KeysView]:
        listed = _call(("engine.inspect:keys",), self.workdir)
        if not listed.ok:
            return Fetched(missing=listed.missing)
        mine = _call(("engine.inspect:host_fingerprint",), self.workdir)
        return Fetched(KeysView(fingerprint=mine.value if mine.ok else None, peers=list(listed.value or [])))


def _own_process_stats() -> Callable[[], SelfStats | None]:
    """psutil reads of the console process; the first CPU read primes the counter."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return lambda: None
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
