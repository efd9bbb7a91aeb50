"""The console's pure parts: words, the virtual table at 10,000 rows, workdir choice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from engine.commands.console import prepare
from engine.inspect import ExecdStatus
from engine.workdir import Workdir
from tui import format as fmt
from tui.data import bootstrap
from tui.data.history import RssHistory
from tui.data.jobs import forced_run
from tui.data.problems import problems
from tui.data.source import Common, Fetched
from tui.widgets.virtual_table import Column, VirtualTable


def test_words_for_durations_sizes_and_skips() -> None:
    assert fmt.countdown(0) == "ready" and fmt.countdown(-5) == "ready"
    assert fmt.countdown(3599) == "59m 59s"
    assert fmt.countdown(82623) == "22h 57m 03s"
    assert fmt.duration(3 * 86400 + 7200) == "3d 2h"
    assert fmt.size(21_400_000) == "21.4 MB"
    assert fmt.state_label("running") == "● running" and fmt.state_label("stopped") == "✗ stopped"
    assert fmt.skip_words("locked", "12/60 minutes elapsed") == "locked: ran 12 min before, ifelapsed 60 min"
    assert fmt.skip_words("if_false", "") == "if is false"
    assert fmt.sparkline([1, 1, 1], 10) == "▄▄▄"
    assert fmt.sparkline([10.0, 20.0], 10) == "▁█"


def test_rss_history_keeps_the_peak_of_each_slice() -> None:
    h = RssHistory(window_s=100)
    for i in range(100):
        h.add("execd", float(i), 10.0 if i != 50 else 99.0)
    b = h.buckets("execd", 10)
    assert len(b) == 10 and max(b) == 99.0 and b.count(99.0) == 1
    h.add("execd", 500.0, 1.0)  # older samples fall out of the window
    assert h.buckets("execd", 10) == [1.0]


class TableApp(App[None]):
    def __init__(self, table: VirtualTable[tuple[int, str]]) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table


def _table(n: int) -> VirtualTable[tuple[int, str]]:
    cols = [
        Column("n", "n", lambda r, _t: str(r[0]), width=6, sort_key=lambda r, _t: r[0], align="right"),
        Column("name", "name", lambda r, _t: r[1], sort_key=lambda r, _t: r[1]),
    ]
    t: VirtualTable[tuple[int, str]] = VirtualTable(cols, row_key=lambda r: r[0],
                                                    haystack=lambda r: r[1])
    t.set_rows([(i, f"row {i:05d}") for i in range(n)])
    return t


async def test_virtual_table_sorts_filters_and_keeps_the_cursor() -> None:
    t = _table(0)
    async with TableApp(t).run_test(size=(60, 20)) as pilot:
        t.set_rows([(i, f"row {i:05d}") for i in range(10_000)])
        await pilot.pause()
        await _check_table(t)
        assert "no row matches 'no such row'" in t.render_line(1).text


async def _check_table(t: VirtualTable[tuple[int, str]]) -> None:
    assert t.total == 10_000 and t.rows[0] == (0, "row 00000")
    t.cursor_row = 42
    t.set_rows(list(reversed(t.all_rows)))  # new data, same row keys
    assert t.selected_row == (42, "row 00042")
    t.cycle_sort()
    assert t.sort_column is not None and t.rows[0][0] == 0
    t.reverse_sort()
    assert t.rows[0][0] == 9_999
    t.set_filter("row 0999")
    assert {r[0] for r in t.rows} == set(range(9990, 10_000))
    t.set_filter("no such row")
    assert t.rows == [] and t.selected_row is None


async def test_virtual_table_takes_10k_rows_fast() -> None:
    t = _table(0)
    async with TableApp(t).run_test(size=(60, 40)):
        rows = [(i, f"row {i:05d}") for i in range(10_000)]
        t.set_rows(rows)
        t.cycle_sort()
        start = time.perf_counter()
        for _ in range(5):
            t.set_rows(rows)
        per_update = (time.perf_counter() - start) / 5
        assert per_update < 0.1, per_update  # sort + key lookup, no per-row widget work
        start = time.perf_counter()
        for y in range(t.size.height):
            t.render_line(y)
        assert time.perf_counter() - start < 0.05  # only the visible lines are drawn


def _common(**kw: object) -> Common:
    base = dict(daemons=Fetched(missing="x"), health=Fetched(missing="x"), execd=Fetched(missing="x"),
                last_run=Fetched(None), me=None, at=0.0)
    base.update(kw)
    return Common(**base)  # type: ignore[arg-type]


def test_problems_from_health_and_from_what_the_console_sees() -> None:
    class Issue:
        code, message, fix = "scheduler_down", "execd is not running", "vigil up execd -w /x/wd"

    class Run:
        start, exit_code, interrupted = 0.0, 1, False

    found = problems(_common(health=Fetched([Issue()]), last_run=Fetched(Run()),
                             execd=Fetched(ExecdStatus(True, False, "promises.cf:41:7", None, None, 0.0))),
                     root="/x/wd", label="/var/lib/vigil")
    lines = [p.line() for p in found]
    assert lines[0] == ("⚠ execd is not running — vigil up execd -w /var/lib/vigil "
                        "(here: select it and press s)")
    assert any("policy invalid (promises.cf:41:7)" in line for line in lines)
    assert any("failed with exit 1" in line for line in lines)
    assert problems(_common()) == []


def test_forced_run_command_for_vigil_and_cfengine(tmp_path: Path) -> None:
    vigil, _shown = forced_run(Workdir(tmp_path))
    assert vigil.argv[1:] == ["-m", "engine", "agent", "-K", "-I", "-w", str(tmp_path),
                              "--started-by", "forced"]
    cf, shown = forced_run(Workdir(tmp_path, cfengine=True))  # recorded for Runs
    assert cf.argv[1:] == ["-m", "engine.cfengine.record", str(tmp_path), "--", "cf-agent", "-K", "-I"]
    assert shown == "cf-agent -K -I"


def test_fresh_machine_uses_an_embedded_workdir_and_seeds_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIGIL_WORKDIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    if os.geteuid() != 0:
        monkeypatch.setenv("VIGIL_WORKDIR", "/var/lib/vigil")  # the root default, not ours
    wd = bootstrap.choose_workdir(None, None)
    if os.geteuid() != 0:
        assert wd.root == tmp_path / "state" / "vigil"
    else:
        monkeypatch.setenv("VIGIL_WORKDIR", str(tmp_path / "state" / "vigil"))
        wd = bootstrap.choose_workdir(None, None)
    done = prepare(wd)
    assert wd.promises_cf.is_file() and any("seeded" in d for d in done)
    assert prepare(wd) == []  # a second start changes nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]  # nothing outside


def test_unwritable_default_falls_back_to_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("VIGIL_WORKDIR", str(locked / "wd"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    wd = bootstrap.choose_workdir(None, None)
    if os.geteuid() == 0:  # root writes anywhere: the default stands
        assert wd.root == locked / "wd"
    else:
        assert wd.root == tmp_path / "xdg" / "vigil"
    assert bootstrap.choose_workdir(None, "").cfengine
    assert bootstrap.choose_workdir(str(tmp_path / "w"), None).root == tmp_path / "w"


def test_readonly_and_cfengine_workdirs_are_never_written(tmp_path: Path) -> None:
    assert prepare(Workdir(tmp_path / "a"), readonly=True) == []
    assert prepare(Workdir(tmp_path / "b", cfengine=True)) == []
    assert list(tmp_path.iterdir()) == []


def test_engine_side_of_the_console_command_does_not_import_textual() -> None:
    code = ("import sys, engine.commands.console, engine.inspect; "
            "sys.exit(1 if any(m.split('.')[0] in ('textual', 'rich', 'tui') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
