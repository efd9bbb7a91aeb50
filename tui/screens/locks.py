"""3 · Locks: every promise lock, with a countdown to when it may run again.

The table is virtual: 10,000 locks cost a sort in Python and the rendering of the
visible lines only. Countdowns are computed at paint time from the snapshot's
``ready_in_seconds`` and the time elapsed since it was read, so they tick every second
without reading the database again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from engine.inspect import LockInfo, LockSnapshot
from tui import format as fmt
from tui.data import jobs
from tui.data.source import Source
from tui.messages import LocksRefreshed
from tui.screens.base import VigilScreen
from tui.screens.lock_detail import LockDetailScreen
from tui.widgets.virtual_table import Cell, Column, VirtualTable


def _pos(info: LockInfo) -> str:
    if not info.file:
        return "unknown" if info.note else fmt.DASH
    name = Path(info.file).name
    return f"{name}:{info.line}" if info.line else name


class LocksScreen(VigilScreen):
    TITLE = "Locks"
    TICKS = True
    CSS_PATH = Path(__file__).with_name("locks.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "clear_lock", "clear lock"),
        Binding("o", "sort", "sort", show=False),
        Binding("O", "reverse", "reverse", show=False),
        Binding("y", "copy", "copy id", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.fetched_at = 0.0
        self.snapshot: LockSnapshot | None = None
        self.missing: str | None = None

    # remaining seconds at time ``now``, from a snapshot read at ``fetched_at``
    def _remaining(self, value: float | None, now: float) -> float | None:
        if value is None:
            return None
        return value - (now - self.fetched_at)

    def _may_run(self, info: LockInfo, now: float) -> Cell:
        if info.kind == "lock" and info.holder_gone:
            return ("stale", "vt--warn")
        if info.kind == "lock":
            left = self._remaining(info.expires_in_seconds, now)
            if left is None:
                return ("held", "vt--warn")
            if left <= 0:
                return ("held, expired", "vt--bad")
            return (f"held {fmt.duration(left)}", "vt--warn")
        if info.ready_in_seconds is None:
            return ("unknown", "vt--dim")
        left = self._remaining(info.ready_in_seconds, now)
        text = fmt.countdown(left)
        return (text, "vt--ok") if text == "ready" else text

    def columns(self) -> list[Column[LockInfo]]:
        def ready_key(i: LockInfo, now: float) -> float:
            if i.kind == "lock":
                return float("inf")
            left = self._remaining(i.ready_in_seconds, now)
            return left if left is not None else float("inf")

        def holder(i: LockInfo, _n: float) -> Cell:
            if i.kind != "lock":
                return fmt.DASH
            return (f"{i.holder_pid} gone", "vt--warn") if i.holder_gone else f"pid {i.holder_pid}"

        return [
            Column("bundle", "bundle", lambda i, _n: i.bundle, width=20, sort_key=lambda i, _n: i.bundle),
            Column("type", "type", lambda i, _n: i.promise_type, width=9,
                   sort_key=lambda i, _n: i.promise_type),
            Column("promiser", "promiser", lambda i, _n: i.promiser, min_width=16,
                   sort_key=lambda i, _n: i.promiser, pinned=True),
            Column("pos", "source", lambda i, _n: _pos(i), width=14),
            Column("last", "last done", lambda i, n: short_time(i.last_done, n), width=11,
                   sort_key=lambda i, _n: i.last_done or 0.0),
            Column("ifelapsed", "ifelapsed", lambda i, _n: _minutes(i.ifelapsed_min), width=9,
                   align="right", sort_key=lambda i, _n: i.ifelapsed_min or 0, pinned=True),
            Column("expire", "expire", lambda i, _n: _minutes(i.expireafter_min), width=8,
                   align="right"),
            Column("ready", "may run in", self._may_run, width=13, sort_key=ready_key, pinned=True),
            Column("holder", "holder", holder, width=11, sort_key=lambda i, _n: -(i.holder_pid or 0)),
        ]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="locks-head", classes="headline")
        table: VirtualTable[LockInfo] = VirtualTable(
            self.columns(),
            row_key=lambda i: i.id,
            haystack=lambda i: f"{i.bundle} {i.promise_type} {i.promiser} {i.file or ''} {i.id}",
            clock=self.console.clock,
            empty_text="no locks yet: the agent has not run in this workdir",
            id="locks",
        )
        table.border_title = "Locks"
        yield table
        yield Static("", id="locks-db", classes="note")

    def on_mount(self) -> None:
        self.query_one("#locks", VirtualTable).focus()

    def fetch(self, source: Source) -> Message | None:
        return LocksRefreshed(source.locks())

    def on_locks_refreshed(self, message: LocksRefreshed) -> None:
        snap = message.snapshot
        table = self.query_one("#locks", VirtualTable)
        if not snap.ok or snap.value is None:
            self.missing = snap.missing
            table.empty_text = f"locks {snap.missing}"
            table.set_rows([])
        else:
            self.missing = None
            self.snapshot = snap.value
            self.fetched_at = self.console.clock()
            table.set_rows(snap.value.locks)
        self._headline()

    def _headline(self) -> None:
        table = self.query_one("#locks", VirtualTable)
        parts = []
        if table.filter_text:
            parts.append(f"filter: {table.filter_text}")
        col = table.sort_column
        parts.append(f"sort: {col.title}{' (reversed)' if table.sort_reverse else ''}" if col else "sort: none")
        parts.append(f"{table.total} locks · {len(table.rows)} shown")
        self.query_one("#locks-head", Static).update("   ".join(parts))
        snap = self.snapshot
        if self.missing:
            db = f"lock database: {self.missing}"
        elif snap is not None:
            health = "healthy" if snap.healthy else f"UNHEALTHY: {snap.error}"
            db = (
                f"lock database {self.console.shown(snap.db_path)}: {fmt.size(snap.db_size_bytes)} of "
                f"{fmt.size(snap.map_size)} map, {snap.entries} entries, {health}"
            )
            if snap.rules_note:
                db += f"\nifelapsed unknown: {snap.rules_note}"
            elif self.console.workdir.cfengine:
                db += "\nifelapsed and source: matched from inputs/promises.cf (unknown: no promise matches)"
        else:
            db = "lock database: reading…"
        self.query_one("#locks-db", Static).update(db)

    def filter_changed(self) -> None:
        self._headline()

    # -- actions -----------------------------------------------------------------

    def action_sort(self) -> None:
        col = self.query_one("#locks", VirtualTable).cycle_sort()
        self._headline()
        self.notify(f"sorted by {col.title}" if col else "database order")

    def action_reverse(self) -> None:
        self.query_one("#locks", VirtualTable).reverse_sort()
        self._headline()

    def action_copy(self) -> None:
        info = self.selected()
        if info is not None:
            self.app.copy_to_clipboard(info.id)
            self.notify(f"copied lock id {info.id[:40]}…" if len(info.id) > 40 else f"copied {info.id}")

    def action_clear_lock(self) -> None:
        if self.console.refuse_if_readonly("clearing a lock"):
            return
        info = self.selected()
        if info is None:
            self.notify("no lock selected", severity="warning")
            return
        wd = self.console.workdir
        lock_id = info.id
        self.console.confirm_then(
            "Clear this lock?",
            f"{info.bundle} · {info.promise_type} · {info.promiser}\n{lock_id}\n\n"
            "Its promise may run again at the next agent run, whatever ifelapsed says.",
            "Clear lock",
            jobs.clear_lock(wd, lock_id),
        )

    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self.app.push_screen(LockDetailScreen(event.row, self.fetched_at))


def short_time(t: float | None, now: float) -> str:
    """``12:05:07`` today, ``11-20 12:05`` another day: fits the column."""
    if t is None:
        return fmt.DASH
    lt = time.localtime(t)
    if time.localtime(now)[:3] == lt[:3]:
        return time.strftime("%H:%M:%S", lt)
    return time.strftime("%m-%d %H:%M", lt)


def _minutes(value: int | None) -> str:
    return "unknown" if value is None else f"{value} min"
