"""4 · Runs: the agent's runs, newest first; ``enter`` opens one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from engine.inspect import RunSummary
from tui import format as fmt
from tui.data.source import Source
from tui.messages import RunsRefreshed
from tui.screens.base import VigilScreen
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.virtual_table import Cell, Column, VirtualTable

RUNS_LIMIT = 200


def _exit_cell(run: RunSummary, _now: float) -> Cell:
    if run.interrupted:
        return ("interrupted", "vt--bad")
    if run.policy_error:
        return ("policy error", "vt--bad")
    code = run.exit_code
    if code is None:
        return ("not recorded", "vt--dim")
    if code == 0:
        return ("exit 0", "vt--ok")
    return (f"exit {code}", "vt--bad")


def _count(key: str) -> Callable[[RunSummary, float], Cell]:
    """A promise count (vigil), CFEngine's percentage, or a dash where none was recorded."""

    def cell(run: RunSummary, _now: float) -> Cell:
        if run.percents:
            return f"{run.percents.get(key, 0.0):.0f}%" if key in run.percents else fmt.DASH
        if not run.counts and run.source != "run report":
            return fmt.DASH
        return str(run.counts.get(key, 0))

    return cell


COLUMNS: list[Column[RunSummary]] = [
    Column("start", "started", lambda r, n: fmt.clock_time(r.start, n), width=13, pinned=True),
    Column("duration", "took", lambda r, _n: fmt.run_time(r.duration), width=9, align="right"),
    Column("exit", "result", _exit_cell, width=13, pinned=True),
    Column("kept", "kept", _count("kept"), width=6, align="right"),
    Column("repaired", "repaired", _count("repaired"), width=8, align="right"),
    Column("notkept", "not kept", _count("notkept"), width=8, align="right"),
    Column("skipped", "skipped", _count("skipped"), width=7, align="right"),
    Column("by", "started by", lambda r, _n: r.started_by, width=10),
    Column("id", "run", lambda r, _n: r.id, min_width=21, pinned=True),
]


class RunsScreen(VigilScreen):
    TITLE = "Runs"
    CSS_PATH = Path(__file__).with_name("runs.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "open run"),
        Binding("y", "copy", "copy id", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="runs-head", classes="headline")
        table: VirtualTable[RunSummary] = VirtualTable(
            COLUMNS,
            row_key=lambda r: r.id,
            haystack=lambda r: f"{r.id} {r.started_by} exit {r.exit_code}",
            clock=self.console.clock,
            empty_text="no runs yet: press K for a forced run, or start execd",
            id="runs",
        )
        table.border_title = "Runs, newest first"
        yield table

    def on_mount(self) -> None:
        self.query_one("#runs", VirtualTable).focus()

    def fetch(self, source: Source) -> Message | None:
        return RunsRefreshed(source.runs(limit=RUNS_LIMIT))

    def on_runs_refreshed(self, message: RunsRefreshed) -> None:
        table = self.query_one("#runs", VirtualTable)
        if not message.runs.ok:
            table.empty_text = f"runs {message.runs.missing}"
            table.set_rows([])
        else:
            table.set_rows(message.runs.value or [])
        self._headline()

    def _headline(self) -> None:
        table = self.query_one("#runs", VirtualTable)
        rows = table.all_rows
        failed = sum(1 for r in rows if r.exit_code or r.interrupted)
        text = f"{len(rows)} runs · {failed} failed or interrupted · {len(table.rows)} shown"
        if table.filter_text:
            text = f"filter: {table.filter_text}   " + text
        self.query_one("#runs-head", Static).update(text)

    def filter_changed(self) -> None:
        self._headline()

    def action_open(self) -> None:
        run = self.selected()
        if run is not None:
            self.app.push_screen(RunDetailScreen(str(run.id)))

    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self.app.push_screen(RunDetailScreen(str(event.row.id)))

    def action_copy(self) -> None:
        run = self.selected()
        if run is not None:
            self.app.copy_to_clipboard(str(run.id))
            self.notify(f"copied {run.id}")
