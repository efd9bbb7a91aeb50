"""A run opened from Runs: each promise's outcome, skip reasons in words, and the
output execd captured for it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Log, Static

from engine.inspect import PromiseRecord
from tui import format as fmt
from tui.data.source import Source
from tui.messages import RunDetailLoaded
from tui.screens.base import VigilScreen
from tui.widgets.virtual_table import Cell, Column, VirtualTable


def _outcome(rec: PromiseRecord, _now: float) -> Cell:
    words = fmt.outcome_words(rec.outcome)
    style = {"kept": "vt--ok", "repaired": "vt--warn", "skipped": "vt--dim"}.get(rec.outcome, "vt--bad")
    return (words, style)


def _pos(rec: PromiseRecord, _now: float) -> str:
    return f"{Path(rec.file).name}:{rec.line}" if rec.file else fmt.DASH


COLUMNS: list[Column[PromiseRecord]] = [
    Column("bundle", "bundle", lambda r, _n: r.bundle, width=14, sort_key=lambda r, _n: r.bundle),
    Column("type", "type", lambda r, _n: r.promise_type, width=10, sort_key=lambda r, _n: r.promise_type),
    Column("promiser", "promiser", lambda r, _n: r.promiser, min_width=16),
    Column("pos", "source", _pos, width=18),
    Column("outcome", "outcome", _outcome, width=9, sort_key=lambda r, _n: r.outcome),
    Column("why", "why / detail", lambda r, _n: fmt.skip_words(r.skip_reason, r.detail or ""), min_width=20),
]


class RunDetailScreen(VigilScreen):
    TITLE = "Run"
    TAB = "Runs"
    CSS_PATH = Path(__file__).with_name("run_detail.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back"),
        Binding("o", "sort", "sort", show=False),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.loaded = False

    def compose_body(self) -> ComposeResult:
        yield Static(f"run {self.run_id}: reading…", id="run-summary", classes="headline")
        table: VirtualTable[PromiseRecord] = VirtualTable(
            COLUMNS,
            row_key=lambda r: (r.bundle, r.promise_type, r.promiser, r.file, r.line, r.col),
            haystack=lambda r: f"{r.bundle} {r.promise_type} {r.promiser} {r.outcome} {r.skip_reason or ''}",
            clock=self.console.clock,
            empty_text="this run recorded no promise",
            id="promises",
        )
        table.border_title = "Promises"
        yield table
        log = Log(id="run-output")
        log.border_title = "Captured output"
        yield log

    def on_mount(self) -> None:
        self.query_one("#promises", VirtualTable).focus()

    def fetch(self, source: Source) -> Message | None:
        if self.loaded:
            return None
        return RunDetailLoaded(self.run_id, source.run_detail(self.run_id))

    def on_run_detail_loaded(self, message: RunDetailLoaded) -> None:
        if message.run_id != self.run_id:
            return
        self.loaded = True
        summary = self.query_one("#run-summary", Static)
        table = self.query_one("#promises", VirtualTable)
        log = self.query_one("#run-output", Log)
        if not message.detail.ok or message.detail.value is None:
            summary.update(f"run {self.run_id}: {message.detail.missing or 'not found'}")
            return
        detail = message.detail.value
        text, note = detail.output, detail.output_note
        log.clear()
        if text:
            log.border_subtitle = self.console.shown(note)
            log.write(text)
        else:
            log.write_line(self.console.shown(note))
        rep = detail.report
        if rep is None:  # CFEngine: no promise-level record
            s = detail.summary
            code = "exit not recorded" if s.exit_code is None else f"exit {s.exit_code}"
            pct = " · ".join(f"{k} {v:.1f}%" for k, v in s.percents.items())
            summary.update(
                f"run {s.id} · started {fmt.day_time(s.start)} by {s.started_by} · "
                f"took {fmt.run_time(s.duration)} · {code}\n"
                f"from {s.source}" + (f" · {pct}" if pct else "")
                + "\nCFEngine records no per-promise outcome: see the output below")
            table.empty_text = "CFEngine records no per-promise outcome for a run"
            table.set_rows([])
            return
        counts = rep.counts
        state = "interrupted" if rep.interrupted else f"exit {rep.exit_code}"
        lines = [
            f"run {rep.id} · started {fmt.day_time(rep.start)} by {rep.started_by} · "
            f"took {fmt.run_time(rep.end - rep.start)} · {state} · pid {rep.pid}",
            f"policy {self.console.shown(rep.policy_file)} · flags {' '.join(rep.flags) or 'none'} · "
            f"kept {counts.get('kept', 0)} repaired {counts.get('repaired', 0)} "
            f"not kept {counts.get('notkept', 0)} skipped {counts.get('skipped', 0)}",
        ]
        if rep.policy_error:
            lines.append(f"policy error: {rep.policy_error}")
        summary.update("\n".join(lines))
        table.set_rows(list(rep.promises))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_sort(self) -> None:
        col = self.query_one("#promises", VirtualTable).cycle_sort()
        self.notify(f"sorted by {col.title}" if col else "policy order")
