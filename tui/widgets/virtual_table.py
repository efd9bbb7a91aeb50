"""A table on Textual's line API that only ever renders the rows on screen.

``DataTable`` pays for every row it holds (about 1 s to update 10,000 rows), so the
console keeps its rows as a plain Python list, sorts and filters it in Python, and
renders the visible lines on demand. Cells are computed at render time from the row
and the console's clock, which is what makes countdowns tick without touching data.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

R = TypeVar("R")

# A cell is its text, or its text and a style name (a component class of the table,
# e.g. "vt--bad"). The style only decorates: the text must say it all.
Cell = str | tuple[str, str]


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    """One column: how to show a row, and how to sort by it.

    ``width`` 0 means flexible: flexible columns share what the fixed ones leave.
    ``cell`` receives the row and the console's current time.
    """

    key: str
    title: str
    cell: Callable[[R, float], Cell]
    width: int = 0
    sort_key: Callable[[R, float], Any] | None = None
    align: Literal["left", "right"] = "left"
    min_width: int = 8
    pinned: bool = False  # stays on screen when a narrow table scrolls its columns


def _fit(text: str, width: int, align: str) -> str:
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else text[:1]
    if align == "right":
        return " " * (width - cell_len(text)) + text
    return set_cell_size(text, width)


class VirtualTable(ScrollView, Generic[R], can_focus=True):
    """A sortable, filterable table over a list of rows; the header stays in place."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "up", show=False),
        Binding("down,j", "cursor(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "edge(0)", "first", show=False),
        Binding("end", "edge(1)", "last", show=False),
        Binding("enter", "select", "open", show=False),
        Binding("left", "columns(-1)", "columns left", show=False),
        Binding("right", "columns(1)", "columns right", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vt--header",
        "vt--cursor",
        "vt--cursor-blur",
        "vt--ok",
        "vt--bad",
        "vt--warn",
        "vt--dim",
        "vt--strong",
        "vt--empty",
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    VirtualTable > .vt--header { text-style: bold; color: $text-accent; }
    VirtualTable > .vt--cursor { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
    VirtualTable > .vt--cursor-blur { background: $block-cursor-blurred-background; }
    VirtualTable > .vt--ok { color: $text-success; }
    VirtualTable > .vt--bad { color: $text-error; text-style: bold; }
    VirtualTable > .vt--warn { color: $text-warning; }
    VirtualTable > .vt--dim { color: $text-muted; }
    VirtualTable > .vt--strong { text-style: bold; }
    VirtualTable > .vt--empty { color: $text-muted; text-style: italic; }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Selected(Message):
        """``enter`` on a row."""

        def __init__(self, table: VirtualTable[Any], row: Any) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> VirtualTable[Any]:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column[R]],
        *,
        row_key: Callable[[R], Hashable],
        haystack: Callable[[R], str] | None = None,
        clock: Callable[[], float] | None = None,
        empty_text: str = "nothing to show",
        sort_column: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns: list[Column[R]] = list(columns)
        self._row_key = row_key
        self._haystack = haystack
        self._clock = clock or _zero_clock
        self.empty_text = empty_text
        self._all: list[R] = []
        self.rows: list[R] = []  # filtered and sorted: what is shown
        self.filter_text = ""
        self.sort_index: int | None = None
        self.sort_reverse = False
        if sort_column is not None:
            self.sort_index = next(
                (i for i, c in enumerate(self.columns) if c.key == sort_column), None
            )
        self._vt_styles: dict[str, Style] = {}
        self.col_offset = 0  # unpinned columns scrolled off to the left (narrow terminals)
        self.hidden_right = 0  # unpinned columns that do not fit on the right

    # -- data ------------------------------------------------------------------

    def set_rows(self, rows: Sequence[R]) -> None:
        """Replace the rows; the cursor stays on the same row (by key) when it can."""
        selected = self.selected_row
        key = self._row_key(selected) if selected is not None else None
        self._all = list(rows)
        self._apply(keep_key=key)

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self._apply(keep_key=None)
        self.cursor_row = 0

    def cycle_sort(self) -> Column[R] | None:
        """Next sortable column; after the last one, back to the data's own order."""
        sortable = [i for i, c in enumerate(self.columns) if c.sort_key is not None]
        if not sortable:
            return None
        if self.sort_index is None or self.sort_index not in sortable:
            self.sort_index = sortable[0]
        else:
            pos = sortable.index(self.sort_index)
            self.sort_index = sortable[pos + 1] if pos + 1 < len(sortable) else None
        self.sort_reverse = False
        self._apply(keep_key=None)
        return self.columns[self.sort_index] if self.sort_index is not None else None

    def reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._apply(keep_key=None)

    @property
    def sort_column(self) -> Column[R] | None:
        return self.columns[self.sort_index] if self.sort_index is not None else None

    @property
    def all_rows(self) -> list[R]:
        """Every row, before the filter."""
        return self._all

    @property
    def total(self) -> int:
        return len(self._all)

    @property
    def selected_row(self) -> R | None:
        if 0 <= self.cursor_row < len(self.rows):
            return self.rows[self.cursor_row]
        return None

    def _apply(self, keep_key: Hashable | None) -> None:
        rows = self._all
        needle = self.filter_text.lower()
        if needle and self._haystack is not None:
            hay = self._haystack
            rows = [r for r in rows if needle in hay(r).lower()]
        elif needle:
            rows = [r for r in rows if needle in self._row_text(r).lower()]
        else:
            rows = list(rows)
        col = self.sort_column
        if col is not None and col.sort_key is not None:
            now = self._clock()
            sk = col.sort_key
            rows.sort(key=lambda r: sk(r, now), reverse=self.sort_reverse)
        elif self.sort_reverse:
            rows.reverse()
        self.rows = rows
        if keep_key is not None:
            key_of = self._row_key
            for i, r in enumerate(rows):
                if key_of(r) == keep_key:
                    self.cursor_row = i
                    break
        if self.cursor_row >= len(rows):
            self.cursor_row = max(0, len(rows) - 1)
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        self._scroll_cursor_into_view()
        self.refresh()

    def _row_text(self, row: R) -> str:
        now = self._clock()
        parts = []
        for c in self.columns:
            cell = c.cell(row, now)
            parts.append(cell if isinstance(cell, str) else cell[0])
        return " ".join(parts)

    # -- cursor ----------------------------------------------------------------

    def watch_cursor_row(self, _old: int, _new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        if self.rows:
            self.cursor_row = min(len(self.rows) - 1, max(0, self.cursor_row + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 2))

    def action_edge(self, end: int) -> None:
        if self.rows:
            self.cursor_row = len(self.rows) - 1 if end else 0

    def action_select(self) -> None:
        row = self.selected_row
        if row is not None:
            self.post_message(self.Selected(self, row))

    def on_click(self, event: Any) -> None:
        y = event.y
        if y >= 1:
            index = int(self.scroll_y) + y - 1
            if 0 <= index < len(self.rows):
                self.cursor_row = index

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self._scroll_cursor_into_view()

    # -- rendering -------------------------------------------------------------

    def _natural(self) -> int:
        return sum(c.width or c.min_width for c in self.columns) + len(self.columns) - 1

    def _shown(self, total: int) -> list[int]:
        """Indexes of the columns on screen: all of them when they fit; otherwise the
        pinned ones and, from ``col_offset`` on, as many others as fit (Left/Right scroll)."""
        if self._natural() <= total:
            self.hidden_right = 0
            return list(range(len(self.columns)))
        pinned = [i for i, c in enumerate(self.columns) if c.pinned]
        others = [i for i, c in enumerate(self.columns) if not c.pinned]
        self.col_offset = max(0, min(self.col_offset, len(others) - 1))
        room = total - sum((self.columns[i].width or self.columns[i].min_width) + 1 for i in pinned)
        chosen: list[int] = []
        for i in others[self.col_offset:]:
            need = (self.columns[i].width or self.columns[i].min_width) + 1
            if need > room:
                break
            chosen.append(i)
            room -= need
        self.hidden_right = len(others) - self.col_offset - len(chosen)
        return sorted(pinned + chosen)

    def _widths(self, total: int, shown: list[int] | None = None) -> list[int]:
        cols = [self.columns[i] for i in (shown if shown is not None else range(len(self.columns)))]
        fixed = sum(c.width for c in cols if c.width) + len(cols) - 1
        flex = [c for c in cols if not c.width]
        room = max(0, total - fixed)
        widths: list[int] = []
        share = room // len(flex) if flex else 0
        extra = room - share * len(flex) if flex else 0
        for c in cols:
            if c.width:
                widths.append(c.width)
            else:
                w = max(c.min_width, share + extra)
                extra = 0
                widths.append(w)
        return widths

    def action_columns(self, delta: int) -> None:
        """Scroll the unpinned columns of a table wider than the screen."""
        if delta > 0 and not self.hidden_right:
            return
        self.col_offset = max(0, self.col_offset + delta)
        self.refresh()

    def _style(self, name: str) -> Style:
        style = self._vt_styles.get(name)
        if style is None:
            style = self.get_component_rich_style(name, partial=True)
            self._vt_styles[name] = style
        return style

    def notify_style_update(self) -> None:
        self._vt_styles.clear()
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        base = self.rich_style
        shown = self._shown(width)
        columns = [self.columns[i] for i in shown]
        widths = self._widths(width, shown)
        if y == 0:
            return self._header_strip(columns, widths, width, base)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            if index == 0:
                text = self._empty_message()
                return Strip([Segment(_fit(text, width, "left"), base + self._style("vt--empty"))])
            return Strip.blank(width, base)
        row = self.rows[index]
        now = self._clock()
        if index == self.cursor_row:
            row_style = self._style("vt--cursor" if self.has_focus else "vt--cursor-blur")
        else:
            row_style = None
        segments: list[Segment] = []
        for i, (col, w) in enumerate(zip(columns, widths, strict=True)):
            cell = col.cell(row, now)
            if isinstance(cell, str):
                text, style = cell, base
            else:
                text, style = cell[0], base + self._style(cell[1])
            if row_style is not None:
                style = style + row_style
            if i:
                segments.append(Segment(" ", base + row_style if row_style else base))
            segments.append(Segment(_fit(text, w, col.align), style))
        used = sum(widths) + len(widths) - 1
        if used < width:
            segments.append(Segment(" " * (width - used), base + row_style if row_style else base))
        return Strip(segments).crop(0, width)

    def _empty_message(self) -> str:
        if self._all and self.filter_text:
            return f"no row matches '{self.filter_text}'"
        return self.empty_text

    def _header_strip(self, columns: list[Column[R]], widths: list[int], width: int,
                      base: Style) -> Strip:
        style = base + self._style("vt--header")
        parts = []
        sorted_col = self.sort_column
        for col, w in zip(columns, widths, strict=True):
            title = col.title
            if col is sorted_col:
                title = f"{title} {'▲' if not self.sort_reverse else '▼'}"
            parts.append(_fit(title, w, col.align))
        line = " ".join(parts)
        if self.col_offset or self.hidden_right:  # say that there is more, and where
            marks = ("◀" if self.col_offset else " ") + ("▶" if self.hidden_right else " ")
            line = _fit(line, width - 2, "left") + marks
        return Strip([Segment(_fit(line, width, "left"), style)]).crop(0, width)


def _zero_clock() -> float:
    return 0.0
