"""1 · Overview: daemons, the last and next run, and a banner when something is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from engine.workdir import DAEMONS
from tui import format as fmt
from tui.data import actions
from tui.data.problems import problems
from tui.data.source import Common, Fetched, Source
from tui.messages import CommonRefreshed, OverviewRefreshed
from tui.screens.base import VigilScreen
from tui.widgets.banner import Banner
from tui.widgets.virtual_table import Cell, Column, VirtualTable

SPARK_WIDTH = 30


@dataclass(frozen=True, slots=True)
class DaemonRow:
    name: str
    state: str
    pid: int | None
    uptime_s: float | None
    cpu_percent: float | None
    rss_bytes: int | None
    children: int
    spark: str
    is_console: bool = False


def _state_cell(row: DaemonRow, _now: float) -> Cell:
    if row.is_console:
        return ("(this)", "vt--dim")
    label = fmt.state_label(row.state)
    style = {"running": "vt--ok", "stopped": "vt--bad"}.get(row.state, "vt--warn")
    return (label, style)


def _memory_cell(row: DaemonRow, _now: float) -> Cell:
    if row.state != "running" and not row.is_console:
        return ("start: s", "vt--dim") if row.state == "stopped" else ""
    return row.spark


COLUMNS: list[Column[DaemonRow]] = [
    Column("daemon", "daemon", lambda r, _n: r.name, width=9),
    Column("state", "state", _state_cell, width=12),
    Column("pid", "pid", lambda r, _n: str(r.pid) if r.pid else fmt.DASH, width=8),
    Column("uptime", "uptime", lambda r, _n: fmt.duration(r.uptime_s), width=8),
    Column("cpu", "cpu", lambda r, _n: fmt.percent(r.cpu_percent), width=7, align="right"),
    Column("rss", "rss (tree)", lambda r, _n: fmt.size(r.rss_bytes), width=10, align="right"),
    Column("procs", "procs", lambda r, _n: str(r.children + 1) if r.pid else fmt.DASH, width=5, align="right"),
    Column("memory", "memory, this session", _memory_cell),
]


def daemon_rows(common: Common | None, history: Any) -> list[DaemonRow]:
    """The daemons in a fixed order, then the console itself."""
    statuses = {}
    if common is not None and common.daemons.ok:
        statuses = {d.name: d for d in common.daemons.value or []}
    rows: list[DaemonRow] = []
    for name in DAEMONS:
        d = statuses.get(name)
        if d is None:
            rows.append(DaemonRow(name, "unknown", None, None, None, None, 0, ""))
            continue
        children = d.children if isinstance(d.children, int) else len(d.children or [])
        spark = fmt.sparkline(history.buckets(name, SPARK_WIDTH), SPARK_WIDTH)
        rows.append(
            DaemonRow(name, d.state, d.pid, d.uptime_s, d.cpu_percent, d.rss_bytes, children, spark)
        )
    me = common.me if common is not None else None
    if me is not None:
        spark = fmt.sparkline(history.buckets("console", SPARK_WIDTH), SPARK_WIDTH)
        rows.append(
            DaemonRow("console", "running", me.pid, me.uptime_s, me.cpu_percent, me.rss_bytes, 0,
                      spark, is_console=True)
        )
    return rows


def last_run_text(common: Common) -> str:
    if not common.last_run.ok:
        return f"runs {common.last_run.missing}"
    run = common.last_run.value
    if run is None:
        return "no run yet — press K for a forced run"
    counts: dict[str, int] = dict(getattr(run, "counts", {}) or {})
    exit_code = getattr(run, "exit_code", None)
    state = "interrupted" if getattr(run, "interrupted", False) else f"exit {exit_code}"
    head = (
        f"{fmt.clock_time(run.start, common.at)}  {fmt.seconds_short(getattr(run, 'duration', None))}"
        f"  {state}  ({getattr(run, 'started_by', '?')})"
    )
    tally = (
        f"kept {counts.get('kept', 0)}  repaired {counts.get('repaired', 0)}  "
        f"not kept {counts.get('notkept', 0)}"
    )
    reasons = [
        (k.removeprefix("skipped_"), v)
        for k, v in sorted(counts.items())
        if k.startswith("skipped_") and v
    ]
    skipped = f"skipped {counts.get('skipped', 0)}"
    if reasons:
        skipped += ": " + ", ".join(f"{fmt.SKIP_WORDS.get(r, r)} {n}" for r, n in reasons)
    lines = [head, tally, skipped]
    if getattr(run, "policy_error", None):
        lines.append(f"policy error: {run.policy_error}")
    return "\n".join(lines)


def next_run_text(common: Common, lockdb: Fetched[Any] | None) -> str:
    lines: list[str] = []
    if common.execd.ok and common.execd.value is not None:
        st = common.execd.value
        nxt = st.get("next_run_at")
        splay = st.get("splay") or st.get("splay_s") or 0
        sched = st.get("schedule") or []
        if isinstance(sched, list) and len(sched) > 3:
            sched_text = f"{sched[0]} … {sched[-1]} ({len(sched)} classes)"
        else:
            sched_text = ", ".join(sched) if isinstance(sched, list) else str(sched)
        if nxt:
            lines.append(
                f"{fmt.clock_time(float(nxt), common.at)} + splay {int(float(splay))} s"
                f"  (in {fmt.duration(float(nxt) + float(splay) - common.at)})"
            )
        else:
            lines.append("no run scheduled")
        if sched_text:
            lines.append(f"schedule {sched_text}")
    else:
        lines.append(f"scheduler status {common.execd.missing}")
    if lockdb is not None:
        if lockdb.ok and lockdb.value is not None and not lockdb.value.db_size_bytes:
            lines.append("lock db: not created yet (no agent run)")
        elif lockdb.ok and lockdb.value is not None:
            snap = lockdb.value
            health = "healthy" if snap.healthy else f"UNHEALTHY: {snap.error}"
            lines.append(
                f"lock db: {fmt.size(snap.db_size_bytes)} of {fmt.size(snap.map_size)}, "
                f"{snap.entries} entries, {health}"
            )
        else:
            lines.append(f"lock db {lockdb.missing}")
    return "\n".join(lines)


class OverviewScreen(VigilScreen):
    TITLE = "Overview"
    FILTERABLE = False
    CSS_PATH = Path(__file__).with_name("overview.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start", "start"),
        Binding("S", "stop", "stop"),
        Binding("R", "restart", "restart"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._lockdb: Fetched[Any] | None = None
        self._common: Common | None = None

    def compose_body(self) -> ComposeResult:
        yield Banner(id="banner")
        table: VirtualTable[DaemonRow] = VirtualTable(
            COLUMNS,
            row_key=lambda r: r.name,
            clock=self.console.clock,
            empty_text="daemon status not available",
            id="daemons",
        )
        table.border_title = "Daemons"
        yield table
        with Horizontal(id="runs-row"):
            last = Static("", id="last-run", classes="panel")
            last.border_title = "Last run"
            yield last
            nxt = Static("", id="next-run", classes="panel")
            nxt.border_title = "Next run"
            yield nxt
        yield Static("", id="daemon-note")

    def on_mount(self) -> None:
        self.query_one("#daemons", VirtualTable).focus()
        self._show(self.console.common)

    def fetch(self, source: Source) -> Message | None:
        return OverviewRefreshed(source.locks())

    def on_common_refreshed(self, message: CommonRefreshed) -> None:
        self._common = message.common
        self._show(message.common)

    def on_overview_refreshed(self, message: OverviewRefreshed) -> None:
        self._lockdb = message.lockdb
        self._show(self._common or self.console.common)

    def _show(self, common: Common | None) -> None:
        table = self.query_one("#daemons", VirtualTable)
        if common is None:
            if not table.all_rows:
                table.set_rows(daemon_rows(None, self.console.history))
            return
        table.set_rows(daemon_rows(common, self.console.history))
        app = self.console
        self.query_one(Banner).show_problems(
            problems(common, str(app.workdir.root), app.workdir_label)
        )
        self.query_one("#last-run", Static).update(last_run_text(common))
        self.query_one("#next-run", Static).update(next_run_text(common, self._lockdb))
        note = "" if common.daemons.ok else f"daemon status {common.daemons.missing}"
        self.query_one("#daemon-note", Static).update(note)

    # -- actions -----------------------------------------------------------------

    def _selected_daemon(self, verb: str) -> str | None:
        row = self.selected()
        if row is None or row.is_console:
            self.notify(f"select execd, serverd or monitord to {verb} it", severity="warning")
            return None
        if self.console.workdir.cfengine:
            self.notify(f"{verb}: CFEngine's daemons are managed by its own service", severity="warning")
            return None
        return str(row.name)

    def action_start(self) -> None:
        if self.console.refuse_if_readonly("start"):
            return
        name = self._selected_daemon("start")
        if name is None:
            return
        wd = self.console.workdir
        self.notify(f"starting {name}…")
        self.console._do(lambda: actions.start_daemons(wd, [name]))

    def action_stop(self) -> None:
        if self.console.refuse_if_readonly("stop"):
            return
        name = self._selected_daemon("stop")
        if name is None:
            return
        wd = self.console.workdir
        self.console.confirm_then(
            f"Stop {name}?",
            f"{name} in {self.console.workdir_label} will be stopped"
            + (" (no scheduled runs until it is started again)." if name == "execd" else "."),
            f"Stop {name}",
            lambda: actions.stop_daemon(wd, name),
        )

    def action_restart(self) -> None:
        if self.console.refuse_if_readonly("restart"):
            return
        name = self._selected_daemon("restart")
        if name is None:
            return
        wd = self.console.workdir
        self.console.confirm_then(
            f"Restart {name}?",
            f"{name} in {self.console.workdir_label} will be stopped and started again.",
            f"Restart {name}",
            lambda: actions.restart_daemon(wd, name),
        )
