"""1 · Overview: daemons, the last and next run, and a banner when something is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from engine.inspect import LockSnapshot
from tui import format as fmt
from tui.data import jobs
from tui.data.history import RssHistory
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
    found_by: str = ""
    can_start: bool = True
    can_stop: bool = True


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
    Column("daemon", "daemon", lambda r, _n: r.name, width=11),
    Column("state", "state", _state_cell, width=12),
    Column("pid", "pid", lambda r, _n: str(r.pid) if r.pid else fmt.DASH, width=8),
    Column("uptime", "uptime", lambda r, _n: fmt.duration(r.uptime_s), width=8),
    Column("cpu", "cpu", lambda r, _n: fmt.percent(r.cpu_percent), width=7, align="right"),
    Column("rss", "rss (tree)", lambda r, _n: fmt.size(r.rss_bytes), width=10, align="right"),
    Column("procs", "procs", lambda r, _n: str(r.children + 1) if r.pid else fmt.DASH, width=5, align="right"),
    Column("memory", "memory, this session", _memory_cell),
]


def daemon_rows(common: Common | None, history: RssHistory, names: tuple[str, ...]) -> list[DaemonRow]:
    """The daemons in a fixed order (then any other the workdir has), then the console."""
    statuses = {}
    if common is not None and common.daemons.ok:
        statuses = {d.name: d for d in common.daemons.value or []}
    rows: list[DaemonRow] = []
    for name in [*names, *(n for n in statuses if n not in names)]:
        d = statuses.get(name)
        if d is None:
            rows.append(DaemonRow(name, "unknown", None, None, None, None, 0, ""))
            continue
        spark = fmt.sparkline(history.buckets(name, SPARK_WIDTH), SPARK_WIDTH)
        label = d.program if d.program.startswith("cf-") else name
        rows.append(
            DaemonRow(label, d.state, d.pid, d.uptime_s, d.cpu_percent, d.rss_bytes, d.children, spark,
                      False, d.found_by, d.can_start, d.can_stop)
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
    counts = run.counts
    if run.interrupted:
        state = "interrupted"
    elif run.exit_code is None:
        state = "exit not recorded"
    else:
        state = f"exit {run.exit_code}"
    head = (
        f"{fmt.clock_time(run.start, common.at)}  {fmt.run_time(run.duration)}"
        f"  {state}  ({run.started_by})"
    )
    if run.percents:
        p = run.percents
        return "\n".join([head, f"kept {p.get('kept', 0):.0f}%  repaired {p.get('repaired', 0):.0f}%  "
                          f"not kept {p.get('notkept', 0):.0f}%", f"from {run.source}"])
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
    if run.policy_error:
        lines.append(f"policy error: {run.policy_error}")
    return "\n".join(lines)


def next_run_text(common: Common, lockdb: Fetched[LockSnapshot] | None, cfengine: bool = False) -> str:
    lines: list[str] = []
    if common.execd.ok and common.execd.value is not None:
        st = common.execd.value
        sched = st.schedule
        if len(sched) > 3:
            sched_text = f"{sched[0]} … {sched[-1]} ({len(sched)} classes)"
        else:
            sched_text = ", ".join(sched)
        if st.next_run_at is not None and st.running:
            left = st.next_run_at - common.at
            when = f"in {fmt.duration(left)}" if left >= 1 else "starting now"
            lines.append(
                f"{fmt.clock_time(st.next_run_at, common.at)}  ({when}; "
                f"tick {fmt.clock_time(st.tick_at, common.at)} + splay {int(st.splay_s)} s)"
            )
        else:
            lines.append("no run scheduled: execd is not running")
        if sched_text:
            lines.append(f"schedule {sched_text}")
    elif common.execd.ok:
        lines.append("cf-execd keeps no record of its plan: see its schedule in body executor control"
                     if cfengine else "no scheduler status yet (execd has not written one)")
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
        self._lockdb: Fetched[LockSnapshot] | None = None
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
                table.set_rows(daemon_rows(None, self.console.history, self._names()))
            return
        table.set_rows(daemon_rows(common, self.console.history, self._names()))
        app = self.console
        self.query_one(Banner).show_problems(
            problems(common, str(app.workdir.root), app.workdir_label)
        )
        self.query_one("#last-run", Static).update(last_run_text(common))
        self.query_one("#next-run", Static).update(
            next_run_text(common, self._lockdb, app.workdir.cfengine))
        note = "" if common.daemons.ok else f"daemon status {common.daemons.missing}"
        self.query_one("#daemon-note", Static).update(note)

    def _names(self) -> tuple[str, ...]:
        return ("execd", "serverd", "monitord")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Start/stop only where they make sense: restart is vigil's, and nothing writes
        under --readonly."""
        if action in ("start", "stop", "restart") and self.console.readonly:
            return False  # hidden (None would show it greyed)
        if action == "restart" and self.console.workdir.cfengine:
            return False  # hidden (None would show it greyed)
        return super().check_action(action, parameters)

    # -- actions -----------------------------------------------------------------

    def _selected_daemon(self, verb: str) -> str | None:
        row: DaemonRow | None = self.selected()
        if row is None or row.is_console:
            self.notify(f"select a daemon to {verb} it", severity="warning")
            return None
        name = row.name.removeprefix("cf-")
        if verb == "start" and row.state == "running":
            self.notify(f"{row.name} is already running (pid {row.pid})", severity="warning")
            return None
        if verb == "stop" and row.state != "running":
            self.notify(f"{row.name} is not running", severity="warning")
            return None
        if (verb == "start" and not row.can_start) or (verb == "stop" and not row.can_stop):
            self.notify(f"{verb} {row.name}: not possible here (not installed, or no pid)",
                        severity="warning")
            return None
        return name

    def action_start(self) -> None:
        if self.console.refuse_if_readonly("start"):
            return
        name = self._selected_daemon("start")
        if name is None:
            return
        wd = self.console.workdir
        if wd.cfengine:  # CFEngine's own daemon: ask first, it is not ours
            self.console.confirm_then(
                f"Start cf-{name}?", f"cf-{name} for {self.console.workdir_label} will be started as "
                "CFEngine starts it (its service, else the workdir's own binary).",
                f"Start cf-{name}", jobs.start_daemons(wd, [name]))
            return
        self.notify(f"starting {name}…")
        self.console._do(jobs.start_daemons(wd, [name]))

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
            jobs.stop_daemon(wd, name),
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
            jobs.restart_daemon(wd, name),
        )
