"""Each screen's layout at 80x24 and 160x45, for a vigil workdir and a CFEngine one,
with the clock frozen.

Update on purpose with ``pytest tests/tui --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from engine.cfengine import keys as cfkeys
from engine.cfengine.classes import Shown
from engine.workdir import Workdir
from tests.tui import cf_fixture
from tests.tui.conftest import make_app, settle
from tui.data.jobs import ForcedRunState
from tui.screens.forced_run import ForcedRunScreen

pytestmark = pytest.mark.slow  # every snapshot drives the console through a run

SIZES = {"80x24": (80, 24), "160x45": (160, 45)}

SCREENS = [
    ("overview", ()),
    ("classes", ("2",)),
    ("locks", ("3",)),
    ("locks_scrolled", ("3", "right", "right")),
    ("runs", ("4",)),
    ("run_detail", ("4", "enter")),
    ("keys", ("5",)),
    ("monitor", ("6",)),
    ("help", ("question_mark",)),
    ("key_exchange", ("5", "e")),
]


def keys(*pressed: str) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            if key.isdigit() or key == "enter":  # a new screen reads its data
                await settle(pilot)
        await settle(pilot)

    return run_before


@pytest.fixture
def cf_wd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workdir:
    """The CFEngine fixture; host classes and reverse DNS pinned for stable pictures."""
    # the run records' paths are on screen: a fixed place keeps the pictures stable
    xdg = Path(tempfile.gettempdir()) / "vigil-snapshot-xdg"
    shutil.rmtree(xdg, ignore_errors=True)
    monkeypatch.setenv("XDG_STATE_HOME", str(xdg))
    inspect_classes = sys.modules["engine.inspect.classes"]  # the module, not the function
    monkeypatch.setattr(inspect_classes, "show_classes", lambda root, now=None: Shown(
        ["any", "cfengine_3", "debian", "linux", "x86_64"], ["web_tier"], {}, None, 0.0))
    monkeypatch.setattr(cfkeys, "host_name", lambda address, timeout=0.3: "hub01")
    fixed_root = Path(tempfile.gettempdir()) / "vigil-snapshot-cfwd"
    shutil.rmtree(fixed_root, ignore_errors=True)
    return cf_fixture.build(fixed_root)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize(("name", "pressed"), SCREENS + [("clear_lock_confirm", ("3", "down", "x"))])
def test_vigil(snap_compare: Any, fixture_wd: Workdir, frozen: float, name: str,
               pressed: tuple[str, ...], size: str) -> None:
    assert snap_compare(make_app(fixture_wd), run_before=keys(*pressed), terminal_size=SIZES[size])


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize(("name", "pressed"), SCREENS)
def test_cfengine(snap_compare: Any, cf_wd: Workdir, frozen: float, name: str,
                  pressed: tuple[str, ...], size: str) -> None:
    app = make_app(cf_wd, workdir_label=cf_fixture.LABEL, host=cf_fixture.HOST)
    assert snap_compare(app, run_before=keys(*pressed), terminal_size=SIZES[size])


@pytest.mark.parametrize("size", list(SIZES))
def test_readonly_overview(snap_compare: Any, fixture_wd: Workdir, cf_wd: Workdir, frozen: float,
                           size: str) -> None:
    assert snap_compare(make_app(fixture_wd, readonly=True), run_before=keys(),
                        terminal_size=SIZES[size])


@pytest.mark.parametrize("size", list(SIZES))
def test_readonly_cfengine_keys(snap_compare: Any, cf_wd: Workdir, frozen: float, size: str) -> None:
    app = make_app(cf_wd, readonly=True, workdir_label=cf_fixture.LABEL, host=cf_fixture.HOST)
    assert snap_compare(app, run_before=keys("5"), terminal_size=SIZES[size])


def test_ansi_light_locks(snap_compare: Any, fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd)

    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.theme = "ansi-light"
        await keys("3")(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZES["160x45"])


FORCED_LINES = {
    False: ["    info: Executing 'no timeout' ... '/bin/sleep 1'",
            "    info: Completed execution of '/bin/sleep 1'", "R: hello from the forced run"],
    True: ["    info: Executing 'no timeout' ... '/bin/true'",
           "    info: Completed execution of '/bin/true'"],
}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("cfengine", [False, True], ids=["vigil", "cfengine"])
def test_forced_run(snap_compare: Any, fixture_wd: Workdir, cf_wd: Workdir, frozen: float,
                    cfengine: bool, size: str) -> None:
    """The forced run's screen, finished, with the lines a run printed (no run is started:
    its output is not the picture's to vary)."""
    wd = cf_wd if cfengine else fixture_wd
    app = make_app(wd, workdir_label=cf_fixture.LABEL, host=cf_fixture.HOST) if cfengine \
        else make_app(wd)
    shown = "cf-agent -K -I" if cfengine else "vigil agent -K -I -w WORKDIR --started-by forced"
    state = ForcedRunState(shown, list(FORCED_LINES[cfengine]), returncode=0, seconds=1.2,
                           done=True)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app.push_screen(ForcedRunScreen(state))
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZES[size])
