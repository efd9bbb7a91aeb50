"""Console tests: a frozen clock, UTC, and the fixture workdir."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from engine.workdir import Workdir
from tests.tui import fixture
from tui.app import VigilConsole


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Times on screen are local time: make local time UTC for every machine."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> float:
    """Wall-clock time stands at fixture.FROZEN for the console and the engine's reads."""
    monkeypatch.setattr(time, "time", lambda: fixture.FROZEN)
    return fixture.FROZEN


@pytest.fixture
def fixture_wd(tmp_path: Path) -> Workdir:
    return fixture.build(tmp_path / "wd")


def make_app(wd: Workdir, **kw: Any) -> VigilConsole:
    """A console on ``wd`` that reads once, on a frozen clock, with fixed self stats."""
    kw.setdefault("live", False)
    kw.setdefault("clock", lambda: fixture.FROZEN)
    kw.setdefault("host", fixture.HOST)
    kw.setdefault("workdir_label", fixture.LABEL)
    kw.setdefault("self_stats", lambda: fixture.ME)
    kw.setdefault("offer_start", False)
    return VigilConsole(wd, **kw)


async def settle(pilot: Pilot[Any]) -> None:
    """Let the poll workers finish and their messages land."""
    await pilot.pause()
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
