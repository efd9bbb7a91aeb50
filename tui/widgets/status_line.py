"""The line at the top of every screen: where we are, and whether the view is live."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from engine.inspect import ExecdStatus
from tui import format as fmt
from tui.data.source import Common


def policy_words(execd: ExecdStatus | None, now: float, cfengine: bool = False) -> tuple[str, str]:
    """(words, style) for the policy part of the status line."""
    if execd is None:
        if cfengine:
            return "policy: as cf-execd last ran it (cf-promises checks it)", "dim"
        return "policy: no scheduler status yet", "dim"
    if execd.policy_ok is False:
        return f"policy INVALID: {execd.policy_error or 'see vigil promises'}", "bad"
    checked = execd.validated_at
    when = f" validated {fmt.clock_time(checked, now)}" if checked else ""
    return f"policy OK{when}", "ok"


class StatusLine(Static):
    """``vigil · web01 · /var/lib/vigil · policy OK …      LIVE 2s``."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, title: str) -> None:
        super().__init__("", id="status-line")
        self.screen_title = title
        self._common: Common | None = None
        self._paused = False

    def show(self, common: Common | None = None, paused: bool | None = None) -> None:
        if common is not None:
            self._common = common
        if paused is not None:
            self._paused = paused
        self.update(self._render_line())

    def _render_line(self) -> Text:
        app: Any = self.app
        left = Text()
        left.append("vigil", style="bold")
        if app.workdir.cfengine:
            left.append(" (CFEngine)", style="bold")
        left.append(f" · {app.host} · {app.workdir_label} · ")
        if self._common is not None:
            words, kind = policy_words(
                self._common.execd.value if self._common.execd.ok else None, self._common.at,
                app.workdir.cfengine,
            )
            style = {"ok": "", "bad": "bold reverse", "dim": "italic"}[kind]
            left.append(words, style=style)
        left.append(f" · {self.screen_title}", style="bold")
        right = Text()
        if app.readonly:
            right.append(" READ-ONLY ", style="bold reverse")
            right.append(" ")
        if self._paused:
            right.append(" PAUSED ", style="bold reverse")
        elif app.live:
            right.append(f"LIVE {app.refresh_seconds:g}s")
        else:
            right.append("STILL")
        width = max(0, self.size.width - 2)
        room = width - right.cell_len - 1
        if left.cell_len > room:
            left.truncate(max(0, room), overflow="ellipsis")
        pad = max(1, width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * pad, right)

    def on_resize(self) -> None:
        self.update(self._render_line())
