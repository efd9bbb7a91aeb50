"""The console application: screens as modes, one poller, forced runs, actions.

Polling follows one rule: a thread worker reads through :class:`tui.data.source.Source`
and posts typed messages; when it is done it re-arms a one-shot timer, so a slow read
never overlaps the next. Nothing is polled while paused or while a dialog is open,
and only the screen in view is read (plus the small common part every header needs).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.timer import Timer

from engine.settings import ConsoleSettings, Settings
from engine.workdir import Workdir
from tui.commands import ConsoleCommands
from tui.data import jobs
from tui.data.history import RssHistory
from tui.data.jobs import Job, JobRunner
from tui.data.source import Common, SelfStats, Source
from tui.messages import ActionDone, CommonRefreshed, RunFinished, RunOutput
from tui.screens.base import WRITING_ACTIONS, VigilScreen
from tui.screens.classes import ClassesScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.forced_run import ForcedRunScreen
from tui.screens.help import HelpScreen
from tui.screens.keys import KeysScreen
from tui.screens.locks import LocksScreen
from tui.screens.monitor import MonitorScreen
from tui.screens.overview import OverviewScreen
from tui.screens.runs import RunsScreen

DEFAULT_REFRESH_S = 2.0

MODE_KEYS = ("overview", "classes", "locks", "runs", "keys", "monitor")


def console_settings(wd: Workdir) -> ConsoleSettings:
    """The ``[console]`` section of ``vigil.toml`` (the defaults when it cannot be read;
    a CFEngine workdir has none)."""
    if wd.cfengine:
        return ConsoleSettings()
    try:
        return Settings.load(wd.root).console
    except Exception:  # noqa: BLE001 - a bad vigil.toml: the console runs on defaults
        return ConsoleSettings()


def configured_refresh_seconds(wd: Workdir) -> float:
    """``console.refresh_seconds`` from ``vigil.toml``; 2.0 when unset or unreadable."""
    try:
        value = float(console_settings(wd).refresh_seconds)
    except (TypeError, ValueError):
        return DEFAULT_REFRESH_S
    return value if value > 0 else DEFAULT_REFRESH_S


class VigilConsole(App[None]):
    """``vigil console``: overview, classes, locks, runs, keys and monitor, one key apart."""

    TITLE = "vigil"
    CSS_PATH: ClassVar[list[str | PurePath]] = [Path(__file__).parent / "theme.tcss"]
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    MODES: ClassVar[dict[str, Any]] = {
        "overview": OverviewScreen,
        "classes": ClassesScreen,
        "locks": LocksScreen,
        "runs": RunsScreen,
        "keys": KeysScreen,
        "monitor": MonitorScreen,
    }
    DEFAULT_MODE = "overview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show('overview')", "Overview", show=False),
        Binding("2", "show('classes')", "Classes", show=False),
        Binding("3", "show('locks')", "Locks", show=False),
        Binding("4", "show('runs')", "Runs", show=False),
        Binding("5", "show('keys')", "Keys", show=False),
        Binding("6", "show('monitor')", "Monitor", show=False),
        Binding("K", "forced_run", "run -K", key_display="K"),
        Binding("p", "toggle_pause", "pause", key_display="p"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit", key_display="q"),
    ]

    def __init__(
        self,
        workdir: Workdir,
        *,
        readonly: bool = False,
        clock: Callable[[], float] = time.time,
        refresh_seconds: float | None = None,
        live: bool = True,
        host: str | None = None,
        workdir_label: str | None = None,
        self_stats: Callable[[], SelfStats | None] | None = None,
        offer_start: bool = True,
        notes: list[str] | None = None,
    ) -> None:
        """``live=False`` reads once at start and never again unless asked (snapshots);
        ``clock`` is the time every countdown and "ago" is computed from."""
        super().__init__()
        settings = console_settings(workdir)
        self.workdir = workdir
        self.readonly = readonly or bool(settings.readonly)
        self.clock = clock
        self.live = live
        self.refresh_seconds = refresh_seconds or configured_refresh_seconds(workdir)
        self.host = host or socket.gethostname().split(".")[0]
        self.workdir_label = workdir_label or str(workdir.root)
        self.source = Source(workdir, clock=clock, self_stats=self_stats)
        self.history = RssHistory()
        self.common: Common | None = None
        self.paused = False
        self.offer_start = offer_start and not self.readonly and not workdir.cfengine
        self._offered = False
        self._notes = notes or []
        self._poll_timer: Timer | None = None
        self.jobs = JobRunner(workdir)
        theme = str(settings.theme or "textual-dark")
        self.theme = theme if theme in self.available_themes else "textual-dark"

    # -- lifecycle ---------------------------------------------------------------

    def on_mount(self) -> None:
        # the first read is asked for by the first screen, when it is shown
        for note in self._notes:
            self.notify(note, title="workdir")

    def shown(self, text: str) -> str:
        """``text`` with the workdir's path written as the status line writes it."""
        root = str(self.workdir.root)
        return text.replace(root, self.workdir_label) if root != self.workdir_label else text

    def poll_target(self) -> VigilScreen | None:
        """The main screen in view: under a dialog, the one the dialog covers."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, VigilScreen):
                return screen
        return None

    def refresh_now(self) -> None:
        """Read everything the current screen shows, now (after an action, a switch)."""
        target = self.poll_target()
        if target is None:
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self._poll(target)

    def _arm(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._poll_timer = self.set_timer(self.refresh_seconds, self._tick)

    def _tick(self) -> None:
        self._poll_timer = None
        target = self.poll_target()
        stack = self.screen_stack
        if self.paused or target is None or (stack and isinstance(stack[-1], ModalScreen)):
            self._arm()
            return
        self._poll(target)

    @work(thread=True, exclusive=True, group="poll")
    def _poll(self, screen: VigilScreen) -> None:
        """Read the common part and the screen's own data; post them; re-arm."""
        try:
            common = self.source.common()
            for status in common.daemons.value or []:
                self.history.add(status.name, common.at, status.rss_bytes)
            if common.me is not None:
                self.history.add("console", common.at, common.me.rss_bytes)
            screen.post_message(CommonRefreshed(common))
            message = screen.fetch(self.source)
            if message is not None:
                screen.post_message(message)
        finally:
            if self.live:
                self.call_from_thread(self._arm)

    def on_common_refreshed(self, message: CommonRefreshed) -> None:
        """Bubbled up from the screen: remember it, and offer to start the daemons once."""
        self.common = message.common
        if self.offer_start and not self._offered:
            self._offered = True
            daemons = message.common.daemons
            if daemons.ok and daemons.value and not any(d.state == "running" for d in daemons.value):
                # after the overview has painted, so the daemons show behind the question
                self.set_timer(0.3, self._offer_start)

    def _offer_start(self) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self.notify("starting daemons (vigil up)…")
                self._do(jobs.start_daemons(self.workdir))

        self.push_screen(
            ConfirmScreen(
                "No daemon is running",
                f"execd, serverd and monitord are stopped in {self.workdir_label}.\n"
                "Start them now (vigil up)? They keep running after the console quits.",
                yes="Start them",
                no="Not now",
            ),
            answer,
        )

    # -- navigation --------------------------------------------------------------

    async def action_show(self, mode: str) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        if self.current_mode != mode:
            await self.switch_mode(mode)  # the screen reads its data when it resumes
        elif len(self.screen_stack) > 1:
            # a pushed screen (a run's detail) goes back to the list
            while len(self.screen_stack) > 1:
                self.pop_screen()
        else:
            self.refresh_now()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        for screen in self._mode_screens():
            screen.set_paused(self.paused)
        self.notify("refresh paused: PAUSED" if self.paused else "refresh resumed")
        if not self.paused:
            self.refresh_now()

    def _mode_screens(self) -> list[VigilScreen]:
        screens: list[VigilScreen] = []
        for stack in self._screen_stacks.values():
            screens.extend(s for s in stack if isinstance(s, VigilScreen))
        return screens

    # -- actions -----------------------------------------------------------------

    def refuse_if_readonly(self, what: str) -> bool:
        """True (and a toast) when the console was started with ``--readonly``."""
        if self.readonly:
            self.notify(f"read-only console: {what} is disabled", severity="warning")
        return self.readonly

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Under ``--readonly`` the actions that write leave the footer too."""
        # False hides the binding (None would show it greyed)
        return not (self.readonly and action in WRITING_ACTIONS)

    def _do(self, job: Job) -> None:
        self._run_action(job)

    @work(thread=True, group="action")
    def _run_action(self, job: Job) -> None:
        self.post_message(ActionDone(self.jobs.run(job)))

    def on_action_done(self, message: ActionDone) -> None:
        result = message.result
        self.notify(result.message, severity="information" if result.ok else "error")
        self.refresh_now()

    def confirm_then(self, title: str, text: str, yes: str, job: Job) -> None:
        """Ask first (destructive actions), then run ``job`` in a worker."""

        def answer(ok: bool | None) -> None:
            if ok:
                self._do(job)

        self.push_screen(ConfirmScreen(title, text, yes=yes), answer)

    def action_forced_run(self) -> None:
        if self.readonly and self.refuse_if_readonly("a forced run (K)"):
            return
        if self.jobs.forced_running():
            self.notify("a run is already going", severity="warning")
            if not isinstance(self.screen, ForcedRunScreen) and self.jobs.forced is not None:
                self.push_screen(ForcedRunScreen(self.jobs.forced))
            return
        job, state = self.jobs.start_forced()
        if isinstance(self.screen, ForcedRunScreen):
            self.pop_screen()
        self.push_screen(ForcedRunScreen(state))
        self._forced_worker(job)

    @work(thread=True, exclusive=True, group="forced-run")
    def _forced_worker(self, job: Job) -> None:
        rc, seconds, error = self.jobs.stream(job, lambda line: self.post_message(RunOutput(line)))
        self.post_message(RunFinished(rc, seconds, error))

    def on_run_output(self, message: RunOutput) -> None:
        state = self.jobs.forced
        if state is None:
            return
        state.lines.append(message.line)
        if isinstance(self.screen, ForcedRunScreen):
            self.screen.add_line(message.line)

    def on_run_finished(self, message: RunFinished) -> None:
        state = self.jobs.finish_forced(message.returncode, message.seconds, message.error)
        if state is None:
            return
        if isinstance(self.screen, ForcedRunScreen):
            self.screen.finished()
        if message.error:
            self.notify(f"forced run: {message.error}", severity="error")
        else:
            ok = message.returncode == 0
            self.notify(
                f"forced run finished: exit {message.returncode} in {message.seconds:.1f} s",
                severity="information" if ok else "error",
            )
        for screen in self._mode_screens():
            screen.mark_stale()
        self.refresh_now()
