"""When execd runs the agent: schedule class expressions, splay, next run.

As cf-execd does, execd wakes once a minute (``tick``), defines the time
classes of that instant and runs the agent when any ``schedule`` expression is
true, ``splay`` seconds later. The splay is fixed per host: a hash of the host
name mapped into ``[0, splaytime minutes)``, so a fleet spreads out while each
host keeps the same offset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.eval.classexpr import evaluate
from engine.eval.hardclasses import time_classes

# cf-execd's built-in schedule: every five minutes, on the minute.
DEFAULT_SCHEDULE: tuple[str, ...] = tuple(f"Min{m:02d}" for m in range(0, 60, 5))

# Always defined while execd evaluates its schedule (cf-execd defines ``executor``).
BASE_CLASSES = frozenset({"any", "executor"})


def splay_seconds(host: str, splaytime_minutes: float) -> int:
    """Deterministic offset for ``host`` in ``[0, splaytime*60)`` whole seconds."""
    span = int(splaytime_minutes * 60)
    if span <= 0:
        return 0
    return _fnv1a64(host.encode()) % span


def _fnv1a64(data: bytes) -> int:
    """FNV-1a: a stable hash that needs no OpenSSL (hashlib costs execd ~3 MB)."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


@dataclass(frozen=True, slots=True)
class Schedule:
    """The executor settings in force (from ``body executor control`` and vigil.toml)."""

    expressions: tuple[str, ...] = DEFAULT_SCHEDULE
    splaytime_minutes: float = 0.0
    agent_expireafter_minutes: float = 120.0
    extra_classes: frozenset[str] = field(default_factory=frozenset)

    def matches(self, t: float) -> bool:
        """True when any schedule expression holds at instant ``t``."""
        defined = time_classes(t) | BASE_CLASSES | self.extra_classes
        look = defined.__contains__
        for expr in self.expressions:
            try:
                if evaluate(expr, look):
                    return True
            except ValueError:
                continue
        return False


def tick_start(t: float, tick: float) -> float:
    """The start of the tick containing ``t`` (ticks are aligned to the epoch)."""
    return math.floor(t / tick) * tick


def next_run(
    schedule: Schedule, now: float, tick: float, splay: float, horizon: float = 86400.0
) -> float | None:
    """The next instant (>= ``now``) at which a scheduled run starts, or None
    when no tick within ``horizon`` seconds matches."""
    start = tick_start(now, tick)
    # A run already due in the current tick (its splay not yet elapsed) counts.
    if start + splay >= now and schedule.matches(start):
        return start + splay
    steps = min(int(horizon / tick) + 1, 20000)
    t = start
    for _ in range(steps):
        t += tick
        if schedule.matches(t):
            return t + splay
    return None


def describe(expressions: Sequence[str]) -> str:
    return ", ".join(expressions)
