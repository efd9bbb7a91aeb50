"""The warning banner: hidden when all is well, one line per problem otherwise."""

from __future__ import annotations

from textual.widgets import Static

from tui.data.problems import Problem


class Banner(Static):
    DEFAULT_CSS = """
    Banner { display: none; height: auto; padding: 0 1; background: $warning-muted;
             color: $text; text-style: bold; }
    Banner.-shown { display: block; }
    """

    def show_problems(self, found: list[Problem]) -> None:
        self.set_class(bool(found), "-shown")
        self.update("\n".join(p.line() for p in found))
