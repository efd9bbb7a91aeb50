"""``enter`` on a lock: every field, and the promise's source around its line."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.inspect import LockInfo
from tui import format as fmt

CONTEXT_LINES = 4


def source_excerpt(file: str | None, line: int | None) -> str:
    """A few numbered lines around ``file:line``, the promise's line marked ``>``."""
    if not file or not line:
        return "source position unknown (no run report names this lock yet)"
    try:
        lines = Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return f"{file}:{line} ({exc.strerror})"
    lo = max(1, line - CONTEXT_LINES)
    hi = min(len(lines), line + CONTEXT_LINES)
    out = [f"{file}:{line}"]
    for n in range(lo, hi + 1):
        mark = ">" if n == line else " "
        out.append(f"{mark}{n:5d}  {lines[n - 1]}")
    return "\n".join(out)


class LockDetailScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,enter", "close", "close")]

    DEFAULT_CSS = """
    LockDetailScreen { align: center middle; }
    LockDetailScreen > VerticalScroll {
        width: 90%; height: auto; max-height: 90%; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    LockDetailScreen #lock-source { margin-top: 1; }
    """

    def __init__(self, info: LockInfo, fetched_at: float) -> None:
        super().__init__()
        self.info = info
        self.fetched_at = fetched_at

    def compose(self) -> ComposeResult:
        i = self.info
        fields = [
            ("lock id", i.id),
            ("kind", "lock (holder gone: stale)" if i.kind == "lock" and i.holder_gone else i.kind),
            ("bundle", i.bundle),
            ("promise type", i.promise_type),
            ("promiser", i.promiser),
            ("last done", fmt.day_time(i.last_done)),
            ("ifelapsed", "unknown" if i.ifelapsed_min is None else f"{i.ifelapsed_min} min"),
            ("expireafter", "unknown" if i.expireafter_min is None else f"{i.expireafter_min} min"),
            ("may run in (when read)",
             "unknown" if i.ready_in_seconds is None else fmt.countdown(i.ready_in_seconds)),
            ("holder", f"pid {i.holder_pid} since {fmt.day_time(i.held_since)}" if i.holder_pid else fmt.DASH),
        ]
        if i.note:
            fields.append(("why unknown", i.note))
        width = max(len(k) for k, _ in fields)
        text = "\n".join(f"{k:<{width}}  {v}" for k, v in fields)
        with VerticalScroll():
            yield Static(text, markup=False, id="lock-fields")
            yield Static(source_excerpt(i.file, i.line), markup=False, id="lock-source")

    def action_close(self) -> None:
        self.dismiss(None)
