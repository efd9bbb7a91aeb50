"""6 · Monitor: monitord's observables and the classes they define."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from engine.inspect import Observable
from tui import format as fmt
from tui.data.source import Source
from tui.messages import MonitorRefreshed
from tui.screens.base import VigilScreen
from tui.widgets.virtual_table import Column, VirtualTable


def number(v: float | str | None) -> str:
    """Observables are counts, percentages or loads: show up to 2 decimals, no noise."""
    if v is None:
        return fmt.DASH
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.2f}"


def _classes(o: Observable) -> str:
    return " ".join(o.classes)


def _history(o: Observable, _now: float) -> str:
    """CFEngine: the expected value per recorded five-minute slot of the week."""
    return fmt.sparkline(list(o.history[-16:]), 16) if o.history else ""


COLUMNS: list[Column[Observable]] = [
    Column("name", "observable", lambda o, _n: o.name, width=22, sort_key=lambda o, _n: o.name,
           pinned=True),
    Column("value", "current", lambda o, _n: number(o.value), width=12, align="right", pinned=True),
    Column("avg", "average", lambda o, _n: number(o.average), width=12, align="right"),
    Column("dev", "deviation", lambda o, _n: number(o.deviation), width=12, align="right"),
    Column("classes", "classes defined", lambda o, _n: _classes(o), min_width=20,
           sort_key=lambda o, _n: _classes(o)),
]
CF_COLUMNS: list[Column[Observable]] = [
    *COLUMNS[:4],
    Column("hist", "week history", _history, width=16),
    Column("classes", "classes defined", lambda o, _n: _classes(o), width=24,
           sort_key=lambda o, _n: _classes(o)),
    Column("unit", "unit", lambda o, _n: o.unit or o.description, min_width=16),
]


class MonitorScreen(VigilScreen):
    TITLE = "Monitor"
    CSS_PATH = Path(__file__).with_name("monitor.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("o", "sort", "sort", show=False)]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="monitor-head", classes="headline", markup=False)
        table: VirtualTable[Observable] = VirtualTable(
            CF_COLUMNS if self.console.workdir.cfengine else COLUMNS,
            row_key=lambda o: o.name,
            haystack=lambda o: f"{o.name} {_classes(o)}",
            clock=self.console.clock,
            empty_text="no observables yet: monitord has not sampled (is it running?)",
            id="observables",
        )
        table.border_title = "Observables"
        yield table

    def on_mount(self) -> None:
        self.query_one("#observables", VirtualTable).focus()

    def fetch(self, source: Source) -> Message | None:
        return MonitorRefreshed(source.monitor())

    def on_monitor_refreshed(self, message: MonitorRefreshed) -> None:
        table = self.query_one("#observables", VirtualTable)
        head = self.query_one("#monitor-head", Static)
        if not message.observables.ok:
            table.empty_text = f"monitor {message.observables.missing}"
            table.set_rows([])
            head.update("")
            return
        rows = message.observables.value or []
        table.set_rows(rows)
        defined = sum(len(o.classes) for o in rows)
        source = ("   from cf-monitord's state/env_data and cf_observations.lmdb"
                  if self.console.workdir.cfengine else "")
        head.update(f"{len(rows)} observables · {defined} classes defined{source}")

    def action_sort(self) -> None:
        col = self.query_one("#observables", VirtualTable).cycle_sort()
        self.notify(f"sorted by {col.title}" if col else "monitord's order")
