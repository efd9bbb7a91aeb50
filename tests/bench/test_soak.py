"""The soak benchmark's leak measure: the slope of RSS against cycles."""

from __future__ import annotations

from bench.soak import _slope_kb_per_100


def test_flat_memory_has_no_slope() -> None:
    assert _slope_kb_per_100([(c, 18.3) for c in range(500, 1000)]) == 0.0


def test_steady_growth_is_reported_per_hundred_cycles() -> None:
    # 1 MB over 1,000 cycles is 102.4 KB per 100 cycles
    points = [(c, 20.0 + c / 1000) for c in range(0, 1001, 10)]
    assert _slope_kb_per_100(points) == 102.4


def test_too_few_points_or_one_cycle_count_give_zero() -> None:
    assert _slope_kb_per_100([(5, 10.0)]) == 0.0
    assert _slope_kb_per_100([(5, 10.0), (5, 12.0)]) == 0.0
