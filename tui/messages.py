"""Typed messages: the only way worker results reach widgets."""

from __future__ import annotations

from textual.message import Message

from engine.inspect import (
    ClassesSnapshot,
    KeysView,
    LockSnapshot,
    Observable,
    RunDetail,
    RunSummary,
)
from tui.data.jobs import ActionResult
from tui.data.source import Common, Fetched


class CommonRefreshed(Message):
    """Daemons, health, scheduler status and the last run, read on every tick."""

    def __init__(self, common: Common) -> None:
        super().__init__()
        self.common = common


class LocksRefreshed(Message):
    def __init__(self, snapshot: Fetched[LockSnapshot]) -> None:
        super().__init__()
        self.snapshot = snapshot


class ClassesRefreshed(Message):
    def __init__(self, snapshot: Fetched[ClassesSnapshot]) -> None:
        super().__init__()
        self.snapshot = snapshot


class RunsRefreshed(Message):
    def __init__(self, runs: Fetched[list[RunSummary]]) -> None:
        super().__init__()
        self.runs = runs


class RunDetailLoaded(Message):
    """A run: its summary, vigil's report where there is one, and its output."""

    def __init__(self, run_id: str, detail: Fetched[RunDetail]) -> None:
        super().__init__()
        self.run_id = run_id
        self.detail = detail


class KeysRefreshed(Message):
    def __init__(self, keys: Fetched[KeysView]) -> None:
        super().__init__()
        self.keys = keys


class MonitorRefreshed(Message):
    def __init__(self, observables: Fetched[list[Observable]]) -> None:
        super().__init__()
        self.observables = observables


class ActionDone(Message):
    """An action (start, stop, clear, accept, ...) finished; the app toasts it."""

    def __init__(self, result: ActionResult) -> None:
        super().__init__()
        self.result = result


class RunOutput(Message):
    """One line of a forced run's output."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class RunFinished(Message):
    """The forced run ended: its exit code (None when it could not start)."""

    def __init__(self, returncode: int | None, seconds: float, error: str | None = None) -> None:
        super().__init__()
        self.returncode = returncode
        self.seconds = seconds
        self.error = error


class OverviewRefreshed(Message):
    """What the overview reads beyond the common part: the lock database's size/health."""

    def __init__(self, lockdb: Fetched[LockSnapshot]) -> None:
        super().__init__()
        self.lockdb = lockdb

