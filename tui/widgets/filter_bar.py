"""The ``/`` filter: an input under the table that filters as you type."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    """Hidden until ``/``; ``enter`` keeps the filter, ``esc`` clears it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "clear filter", show=False),
    ]

    DEFAULT_CSS = """
    FilterBar { display: none; height: 3; border: tall $accent; }
    FilterBar.-shown { display: block; }
    """

    class Done(Message):
        """The filter was accepted (enter) or cleared (esc)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self) -> None:
        super().__init__(placeholder="filter: type to narrow the table, enter to keep, esc to clear",
                         id="filter-bar")

    def open(self) -> None:
        self.add_class("-shown")
        self.focus()

    def action_clear(self) -> None:
        self.value = ""
        self.remove_class("-shown")
        self.post_message(self.Done(""))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.remove_class("-shown")
        self.post_message(self.Done(self.value))
