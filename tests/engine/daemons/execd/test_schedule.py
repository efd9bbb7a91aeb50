"""Schedule evaluation, splay and next-run computation."""

from __future__ import annotations

import calendar
import time

import pytest

from engine.daemons.execd.schedule import (
    DEFAULT_SCHEDULE,
    Schedule,
    next_run,
    splay_seconds,
    tick_start,
)


def _utc(y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> float:
    return float(calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)))


def test_default_schedule_is_cf_execd_every_five_minutes() -> None:
    assert tuple(f"Min{m:02d}" for m in range(0, 60, 5)) == DEFAULT_SCHEDULE
    s = Schedule()
    assert s.matches(_utc(2026, 11, 22, 4, 10))  # local time (UTC here, or any whole 5-minute offset)
    assert not s.matches(_utc(2026, 11, 22, 4, 11))


def test_expressions_use_time_classes_and_operators() -> None:
    s = Schedule(expressions=("GMT_Sunday.GMT_Hr04.!GMT_Min07", "GMT_Monday"))
    assert s.matches(_utc(2026, 11, 22, 4, 8))  # a Sunday
    assert not s.matches(_utc(2026, 11, 22, 4, 7))
    assert not s.matches(_utc(2026, 11, 22, 5, 8))
    assert Schedule(expressions=("executor",)).matches(0.0)  # defined for execd, as cf-execd
    assert not Schedule(expressions=("(((",)).matches(0.0)  # a broken expression never matches


def test_splay_is_deterministic_per_host_and_within_range() -> None:
    a = splay_seconds("web01", 5)
    assert a == splay_seconds("web01", 5)
    assert 0 <= a < 300
    spread = {splay_seconds(f"host{i}", 5) for i in range(200)}
    assert len(spread) > 100 and max(spread) < 300
    assert splay_seconds("web01", 0) == 0


def test_next_run_from_the_default_schedule() -> None:
    t = _utc(2026, 11, 22, 4, 11, 30)
    assert next_run(Schedule(), t, 60.0, 0.0) == _utc(2026, 11, 22, 4, 15)
    assert next_run(Schedule(), t, 60.0, 42.0) == _utc(2026, 11, 22, 4, 15, 42)
    # Inside a due tick whose splay has not elapsed yet, that run is next.
    t2 = _utc(2026, 11, 22, 4, 15, 10)
    assert next_run(Schedule(), t2, 60.0, 42.0) == _utc(2026, 11, 22, 4, 15, 42)
    assert next_run(Schedule(expressions=("never",)), t, 60.0, 0.0, horizon=3600) is None


@pytest.mark.parametrize("tick", [1.0, 60.0])
def test_tick_start_aligns_to_the_epoch(tick: float) -> None:
    now = time.time()
    start = tick_start(now, tick)
    assert start <= now < start + tick and start % tick == 0
