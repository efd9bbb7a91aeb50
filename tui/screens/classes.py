"""2 · Classes: hard, soft and persistent classes; persistent ones count down."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from engine.inspect import ClassesSnapshot
from tui import format as fmt
from tui.data.source import Source
from tui.messages import ClassesRefreshed
from tui.screens.base import VigilScreen
from tui.widgets.virtual_table import Cell, Column, VirtualTable

KIND_ORDER = {"negated": 0, "persistent": 1, "soft": 2, "hard": 3}


@dataclass(frozen=True, slots=True)
class ClassRow:
    name: str
    kind: str  # hard | soft | persistent | negated
    remaining_s: float | None = None  # when read
    expires: float | None = None
    policy: str = ""
    tags: str = ""


def class_rows(snapshot: ClassesSnapshot) -> list[ClassRow]:
    """Flatten a ClassesSnapshot: negated first, then persistent, soft, hard."""
    rows: list[ClassRow] = []
    negated = set(snapshot.negated)
    for name in sorted(negated):
        rows.append(ClassRow(name, "negated"))
    for pc in sorted(snapshot.persistent, key=lambda p: p.name):
        rows.append(
            ClassRow(pc.name, "persistent", pc.remaining_seconds, pc.expires, pc.policy, ",".join(pc.tags))
        )
    persistent = {r.name for r in rows if r.kind == "persistent"}
    for name in sorted(snapshot.soft):
        if name not in persistent and name not in negated:
            rows.append(ClassRow(name, "soft"))
    for name in sorted(snapshot.hard):
        rows.append(ClassRow(name, "hard"))
    return rows


class ClassesScreen(VigilScreen):
    TITLE = "Classes"
    TICKS = True
    CSS_PATH = Path(__file__).with_name("classes.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "toggle_hard", "hard classes"),
        Binding("o", "sort", "sort", show=False),
        Binding("y", "copy", "copy name", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.fetched_at = 0.0
        self.show_hard = True
        self._rows: list[ClassRow] = []
        self._note = ""

    def _expires_in(self, row: ClassRow, now: float) -> Cell:
        if row.kind != "persistent" or row.remaining_s is None:
            return ""
        left = row.remaining_s - (now - self.fetched_at)
        if left <= 0:
            return ("expired", "vt--dim")
        return fmt.duration(left, precise=True)

    def columns(self) -> list[Column[ClassRow]]:
        def kind_cell(row: ClassRow, _now: float) -> Cell:
            if row.kind == "negated":
                return ("negated (-N)", "vt--bad")
            return (row.kind, "vt--strong") if row.kind == "persistent" else row.kind

        def left_key(row: ClassRow, now: float) -> float:
            return row.remaining_s if row.remaining_s is not None else float("inf")

        return [
            Column("name", "class", lambda r, _n: r.name, min_width=24, sort_key=lambda r, _n: r.name),
            Column("kind", "kind", kind_cell, width=13, sort_key=lambda r, _n: KIND_ORDER.get(r.kind, 9)),
            Column("left", "expires in", self._expires_in, width=14, sort_key=left_key),
            Column("at", "expires at", lambda r, n: fmt.clock_time(r.expires, n) if r.expires else "",
                   width=13),
            Column("policy", "timer", lambda r, _n: r.policy.lower(), width=9),
            Column("tags", "tags", lambda r, _n: r.tags, min_width=10),
        ]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="classes-head", classes="headline")
        table: VirtualTable[ClassRow] = VirtualTable(
            self.columns(),
            row_key=lambda r: (r.kind, r.name),
            haystack=lambda r: f"{r.name} {r.kind} {r.tags}",
            clock=self.console.clock,
            empty_text="no classes known yet: the agent has not run in this workdir",
            id="classes",
        )
        table.border_title = "Classes"
        yield table

    def on_mount(self) -> None:
        self.query_one("#classes", VirtualTable).focus()

    def fetch(self, source: Source) -> Message | None:
        return ClassesRefreshed(source.classes())

    def on_classes_refreshed(self, message: ClassesRefreshed) -> None:
        table = self.query_one("#classes", VirtualTable)
        snap = message.snapshot
        if not snap.ok:
            table.empty_text = f"classes {snap.missing}"
            table.set_rows([])
        elif snap.value is not None:
            self.fetched_at = self.console.clock()
            self._rows = class_rows(snap.value)
            self._note = snap.value.note or ""
            if snap.value.source:
                self._note = (self._note + "   " if self._note else "") + f"from {snap.value.source}"
            self._show_rows()
        self._headline()

    def _show_rows(self) -> None:
        rows = self._rows if self.show_hard else [r for r in self._rows if r.kind != "hard"]
        self.query_one("#classes", VirtualTable).set_rows(rows)

    def action_toggle_hard(self) -> None:
        self.show_hard = not self.show_hard
        self._show_rows()
        self._headline()

    def _headline(self) -> None:
        table = self.query_one("#classes", VirtualTable)
        counts: dict[str, int] = {}
        for row in self._rows:
            counts[row.kind] = counts.get(row.kind, 0) + 1
        parts = []
        if table.filter_text:
            parts.append(f"filter: {table.filter_text}")
        hard = f"{counts.get('hard', 0)} hard" if self.show_hard else "hard hidden (h)"
        parts.append(
            " · ".join([hard] + [f"{counts.get(k, 0)} {k}" for k in ("soft", "persistent", "negated")])
        )
        parts.append(f"{len(table.rows)} shown")
        text = "   ".join(parts) + (f"\n{self._note}" if self._note else "")
        self.query_one("#classes-head", Static).update(text)

    def filter_changed(self) -> None:
        self._headline()

    def action_sort(self) -> None:
        col = self.query_one("#classes", VirtualTable).cycle_sort()
        self.notify(f"sorted by {col.title}" if col else "kind order")

    def action_copy(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.copy_to_clipboard(row.name)
            self.notify(f"copied {row.name}")
