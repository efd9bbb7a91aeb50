"""6 · Monitor: monitord's observables and the classes they define."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from tui import format as fmt
from tui.data.source import Source
from tui.messages import MonitorRefreshed
from tui.screens.base import VigilScreen
from tui.widgets.virtual_table import Column, VirtualTable


def number(v: Any) -> str:
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


def _classes(o: Any) -> str:
    cls = getattr(o, "classes", ()) or ()
    return " ".join(cls) if not isinstance(cls, str) else cls


COLUMNS: list[Column[Any]] = [
    Column("name", "observable", lambda o, _n: o.name, width=22, sort_key=lambda o, _n: o.name),
    Column("value", "current", lambda o, _n: number(o.value), width=12, align="right"),
    Column("avg", "average", lambda o, _n: number(o.average), width=12, align="right"),
    Column("dev", "deviation", lambda o, _n: number(o.deviation), width=12, align="right"),
    Column("classes", "classes defined", lambda o, _n: _classes(o), min_width=20,
           sort_key=lambda o, _n: _classes(o)),
]


class MonitorScreen(VigilScreen):
    TITLE = "Monitor"
    CSS_PATH = Path(__file__).with_name("monitor.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("o", "sort", "sort")]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="monitor-head", classes="headline", markup=False)
        table: VirtualTable[Any] = VirtualTable(
            COLUMNS,
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
        defined = sum(len(getattr(o, "classes", ()) or ()) for o in rows)
        head.update(f"{len(rows)} observables · {defined} classes defined")

    def action_sort(self) -> None:
        col = self.query_one("#observables", VirtualTable).cycle_sort()
        self.notify(f"sorted by {col.title}" if col else "monitord's order")
