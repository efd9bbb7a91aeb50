"""Each screen's layout, pinned at 120x36 on the fixture workdir with the clock frozen.

Update on purpose with ``pytest tests/tui --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from engine.workdir import Workdir
from tests.tui.conftest import make_app, settle

SIZE = (120, 36)


def keys(*pressed: str) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            if key.isdigit() or key == "enter":  # a new screen reads its data
                await settle(pilot)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize(
    ("name", "pressed"),
    [
        ("overview", ()),
        ("classes", ("2", "h")),
        ("locks", ("3",)),
        ("locks_filtered", ("3", "slash", "m", "a", "i", "n", "enter")),
        ("runs", ("4",)),
        ("run_detail", ("4", "enter")),
        ("keys", ("5",)),
        ("monitor", ("6",)),
        ("help", ("question_mark",)),
        ("clear_lock_confirm", ("3", "down", "x")),
    ],
)
def test_screen(snap_compare: Any, fixture_wd: Workdir, frozen: float, name: str,
                pressed: tuple[str, ...]) -> None:
    assert snap_compare(make_app(fixture_wd), run_before=keys(*pressed), terminal_size=SIZE)


def test_readonly_overview(snap_compare: Any, fixture_wd: Workdir, frozen: float) -> None:
    assert snap_compare(make_app(fixture_wd, readonly=True), run_before=keys(), terminal_size=SIZE)


def test_ansi_light_locks(snap_compare: Any, fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd)

    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.theme = "ansi-light"
        await keys("3")(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)
