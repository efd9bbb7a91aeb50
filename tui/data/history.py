"""RSS of each daemon over the console's session, for the overview's sparklines."""

from __future__ import annotations

import threading
from collections import deque

WINDOW_S = 30 * 60.0


class RssHistory:
    """Samples ``(time, rss)`` per process name, kept for :data:`WINDOW_S` seconds.

    Written by the polling thread, read by the UI; a lock keeps the two apart.
    """

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._series: dict[str, deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, at: float, rss: float | None) -> None:
        if rss is None:
            return
        with self._lock:
            series = self._series.setdefault(name, deque())
            series.append((at, float(rss)))
            while series and series[0][0] < at - self.window_s:
                series.popleft()

    def buckets(self, name: str, width: int) -> list[float]:
        """At most ``width`` values: the peak RSS in equal slices of the time seen so far."""
        with self._lock:
            points = list(self._series.get(name, ()))
        if not points or width <= 0:
            return []
        if len(points) <= width:
            return [v for _, v in points]
        start, end = points[0][0], points[-1][0]
        span = (end - start) or 1.0
        out: list[float] = [0.0] * width
        seen = [False] * width
        for t, v in points:
            i = min(width - 1, int((t - start) / span * width))
            out[i] = max(out[i], v) if seen[i] else v
            seen[i] = True
        last = out[0]
        for i in range(width):  # carry the previous value into empty slices
            if seen[i]:
                last = out[i]
            else:
                out[i] = last
        return out
