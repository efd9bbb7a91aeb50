"""The screen tabs under the status line: ``1 Overview  2 Classes …``, the current one marked."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

TABS = (
    ("1", "Overview"),
    ("2", "Classes"),
    ("3", "Locks"),
    ("4", "Runs"),
    ("5", "Keys"),
    ("6", "Monitor"),
)


class ScreenTabs(Static):
    DEFAULT_CSS = """
    ScreenTabs { height: 1; padding: 0 1; }
    """

    def __init__(self, current: str) -> None:
        super().__init__(self._line(current), id="screen-tabs")

    @staticmethod
    def _line(current: str) -> Text:
        line = Text()
        for key, title in TABS:
            if title == current:
                line.append(f"▸{key} {title} ", style="bold reverse")
            else:
                line.append(f" {key} ", style="bold")
                line.append(f"{title} ")
            line.append(" ")
        return line
