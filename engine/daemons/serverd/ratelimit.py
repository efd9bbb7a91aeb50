"""Logging refused connections without letting a flood fill the log.

Every refused connection used to be one error line: 10,000 attempts from one
address wrote 730 KB. :class:`RefusalLog` logs the first :data:`PER_SOURCE`
refusals of each source address per window (a minute), and at most
:data:`TOTAL` lines per window in all; the rest are counted and summed up in
one line per source when its window ends (:meth:`RefusalLog.flush`, called
every few seconds and at shutdown)::

    Refused 9995 more connections from '10.1.2.3' in the last 60 s (not in allowconnects)

The verdict of :meth:`RefusalLog.refused` also bounds the work spent on a
refusal: only logged ones get the polite TLS alert (see ``serverd``), the rest
are dropped at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

PER_SOURCE = 5  # lines per source address per window
TOTAL = 100  # lines per window, all sources together
WINDOW = 60.0  # seconds
MAX_SOURCES = 10_000  # addresses tracked at once; refusals from others are only counted


class _Source:
    __slots__ = ("start", "logged", "suppressed", "reason")

    def __init__(self, start: float) -> None:
        self.start = start
        self.logged = 0
        self.suppressed = 0
        self.reason = ""


class RefusalLog:
    """Rate-limited log lines for refused connections (see the module docstring)."""

    def __init__(self, emit: Callable[[str], None], per_source: int = PER_SOURCE,
                 total: int = TOTAL, window: float = WINDOW, max_sources: int = MAX_SOURCES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.emit = emit
        self.per_source = per_source
        self.total = total
        self.window = window
        self.max_sources = max_sources
        self.clock = clock
        self.sources: dict[str, _Source] = {}
        self.window_start = clock()
        self.lines = 0  # logged in the current global window
        self.untracked = 0  # refusals from addresses beyond max_sources

    def refused(self, address: str, message: str, reason: str) -> bool:
        """Note one refusal; log ``message`` unless the limits say to count it.
        ``reason`` is the short cause used in summaries. True when it was logged."""
        now = self.clock()
        if now - self.window_start >= self.window:
            self.flush(now)
        src = self.sources.get(address)
        if src is not None and now - src.start >= self.window:
            self._summarise(address, src)
            del self.sources[address]
            src = None
        if src is None:
            if len(self.sources) >= self.max_sources:
                self.untracked += 1
                return False
            src = self.sources[address] = _Source(now)
        src.reason = reason
        if src.logged < self.per_source and self.lines < self.total:
            src.logged += 1
            self.lines += 1
            if src.logged == self.per_source:
                message += (f" (further refusals from '{address}' in the next "
                            f"{self.window:.0f} s are counted, not logged)")
            self.emit(message)
            return True
        src.suppressed += 1
        return False

    def flush(self, now: float | None = None, everything: bool = False) -> None:
        """Sum up the sources whose window has ended (all of them with
        ``everything``, at shutdown) and start a new global window when due."""
        t = self.clock() if now is None else now
        for address, src in list(self.sources.items()):
            if everything or t - src.start >= self.window:
                self._summarise(address, src)
                del self.sources[address]
        if everything or t - self.window_start >= self.window:
            if self.untracked:
                self.emit(f"Refused {self.untracked} more connections from other addresses "
                          f"(more than {self.max_sources} addresses refused at once)")
                self.untracked = 0
            self.window_start = t
            self.lines = 0

    def _summarise(self, address: str, src: _Source) -> None:
        if src.suppressed:
            took = max(1, round(min(self.clock(), src.start + self.window) - src.start))
            self.emit(f"Refused {src.suppressed} more connection{'s' if src.suppressed != 1 else ''}"
                      f" from '{address}' in the last {took} s ({src.reason})")
