"""``K``: a forced run's output, streamed as the agent prints it."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Log, Static

KNOTE = (
    "-K ignores locks (ifelapsed / expireafter) and leaves the lock database untouched: "
    "the next scheduled run is not delayed by this one."
)


class ForcedRunScreen(ModalScreen[None]):
    """Shows one :class:`tui.data.jobs.ForcedRunState`; ``esc`` hides it, the run goes on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close (the run goes on)"),
        Binding("K", "app.forced_run", "run -K again"),
    ]

    DEFAULT_CSS = """
    ForcedRunScreen { align: center middle; }
    ForcedRunScreen > Vertical {
        width: 94%; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    ForcedRunScreen #run-title { text-style: bold; }
    ForcedRunScreen #run-note { color: $text-muted; margin-bottom: 1; }
    ForcedRunScreen #run-state { text-style: bold; height: 1; }
    ForcedRunScreen Log { height: 1fr; border: round $panel-lighten-2; }
    """

    def __init__(self, state: Any) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Forced run: {self.state.shown}", id="run-title")
            yield Static(KNOTE, id="run-note")
            yield Label("", id="run-state")
            yield Log(id="run-log", auto_scroll=True)

    def on_mount(self) -> None:
        log = self.query_one(Log)
        if self.state.lines:
            log.write_lines(self.state.lines)
        if self.state.done:
            self.finished()
        else:
            self.query_one("#run-state", Label).update("◐ running… (esc hides this; the run goes on)")

    def add_line(self, line: str) -> None:
        self.query_one(Log).write_line(line)

    def finished(self) -> None:
        s = self.state
        if s.error:
            text = f"✗ {s.error}"
        elif s.returncode == 0:
            text = f"● finished: exit 0 in {s.seconds:.1f} s — esc to close"
        else:
            text = f"✗ finished: exit {s.returncode} in {s.seconds:.1f} s — esc to close"
        self.query_one("#run-state", Label).update(text)

    def action_close(self) -> None:
        self.dismiss(None)
