"""What every console screen shares: the status line, the ``/`` filter, the footer.

A screen says what it reads (:meth:`VigilScreen.fetch`, run in the poller's thread)
and shows what arrives as messages. It never reads the engine from the event loop.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input

from tui.data.source import Source
from tui.messages import CommonRefreshed
from tui.widgets.filter_bar import FilterBar
from tui.widgets.status_line import StatusLine
from tui.widgets.tabs import ScreenTabs
from tui.widgets.virtual_table import VirtualTable

# actions that write: refused, and left out of the footer, under --readonly
WRITING_ACTIONS = frozenset({"forced_run", "start", "stop", "restart", "clear_lock", "accept",
                             "reject", "exchange", "remove_key"})


class VigilScreen(Screen[None]):
    """Base of the six main screens."""

    TITLE: ClassVar[str] = ""
    TAB: ClassVar[str] = ""  # the tab to mark, when not the title (a run's detail: Runs)
    FILTERABLE: ClassVar[bool] = True
    TICKS: ClassVar[bool] = False  # repaint every second (countdowns)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "filter", key_display="/"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._tick_timer: Timer | None = None

    @property
    def console(self) -> Any:
        """The app, typed loosely to avoid an import cycle with tui.app."""
        return self.app

    def compose(self) -> ComposeResult:
        yield StatusLine(self.TITLE)
        yield ScreenTabs(self.TAB or self.TITLE)
        yield from self.compose_body()
        if self.FILTERABLE:
            yield FilterBar()
        yield Footer()

    def compose_body(self) -> ComposeResult:  # pragma: no cover - overridden
        yield from ()

    def on_mount(self) -> None:
        self.query_one(StatusLine).show(self.console.common, self.console.paused)
        if self.TICKS and self.console.live:
            self._tick_timer = self.set_interval(1.0, self._tick)

    def on_screen_resume(self) -> None:
        self.query_one(StatusLine).show(self.console.common, self.console.paused)
        self.console.refresh_now()

    def _tick(self) -> None:
        if not self.console.paused and self.is_current:
            for table in self.query(VirtualTable):
                table.refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No ``/`` where there is nothing to filter (it leaves the footer too)."""
        if action == "filter" and not self.FILTERABLE:
            return False  # hidden (None would show it greyed)
        return not (action in WRITING_ACTIONS and self.console.readonly)

    # -- data ------------------------------------------------------------------

    def fetch(self, source: Source) -> Message | None:
        """Read this screen's data (in the poller's thread); None when only common."""
        return None

    def on_common_refreshed(self, message: CommonRefreshed) -> None:
        self.query_one(StatusLine).show(message.common)

    def set_paused(self, paused: bool) -> None:
        self.query_one(StatusLine).show(paused=paused)

    def mark_stale(self) -> None:
        """Something changed (a forced run ended): read again when next shown."""

    # -- filter ----------------------------------------------------------------

    def main_table(self) -> VirtualTable[Any] | None:
        tables = list(self.query(VirtualTable))
        focused = self.focused
        for table in tables:
            if table is focused:
                return table
        return tables[0] if tables else None

    def action_filter(self) -> None:
        if not self.FILTERABLE:
            self.notify("nothing to filter on this screen")
            return
        bar = self.query_one(FilterBar)
        bar.open()

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FilterBar):
            table = self.main_table()
            if table is not None:
                table.set_filter(event.value)
                self.filter_changed()

    def on_filter_bar_done(self, event: FilterBar.Done) -> None:
        table = self.main_table()
        if table is not None:
            table.set_filter(event.text)
            table.focus()
            self.filter_changed()

    def filter_changed(self) -> None:
        """Hook: a screen showing "N shown" updates it here."""

    # -- helpers for actions ----------------------------------------------------

    def selected(self) -> Any:
        table = self.main_table()
        return table.selected_row if table is not None else None
