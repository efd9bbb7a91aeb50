"""The command palette (``ctrl+p``): every console action by name."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (name, help, mode the action belongs to or None for the app, action)
ACTIONS: list[tuple[str, str, str | None, str]] = [
    ("Show overview", "daemons, last and next run (1)", None, "show('overview')"),
    ("Show classes", "hard, soft and persistent classes (2)", None, "show('classes')"),
    ("Show locks", "promise locks with countdowns (3)", None, "show('locks')"),
    ("Show runs", "agent runs, newest first (4)", None, "show('runs')"),
    ("Show keys", "this host's key and its peers (5)", None, "show('keys')"),
    ("Show monitor", "monitord's observables (6)", None, "show('monitor')"),
    ("Forced run", "vigil agent -K -I: ignores locks, leaves them untouched (K)", None, "forced_run"),
    ("Pause or resume refresh", "toggle PAUSED (p)", None, "toggle_pause"),
    ("Help", "every key, what -K does (?)", None, "help"),
    ("Start daemon", "start the selected daemon (s)", "overview", "start"),
    ("Stop daemon", "stop the selected daemon, after asking (S)", "overview", "stop"),
    ("Restart daemon", "restart the selected daemon, after asking (R)", "overview", "restart"),
    ("Clear lock", "clear the selected lock, after asking (x)", "locks", "clear_lock"),
    ("Sort locks", "cycle the sort column of the locks table (o)", "locks", "sort"),
    ("Filter", "filter the table on this screen (/)", "", "filter"),
    ("Copy lock id", "copy the selected lock's id (y)", "locks", "copy"),
    ("Copy class name", "copy the selected class (y)", "classes", "copy"),
    ("Copy my fingerprint", "copy this host's key fingerprint (y)", "keys", "copy"),
    ("Accept key", "accept the selected pending key, after asking (a)", "keys", "accept"),
    ("Reject key", "reject the selected pending key, after asking (r)", "keys", "reject"),
    ("Key exchange", "connect to host:port and trust its key (e)", "keys", "exchange"),
    ("Quit", "leave the console; the daemons keep running (q)", None, "quit"),
]


async def _first_rows(screen: Any, timeout: float = 2.0) -> None:
    """A screen just shown has no rows until its first read lands: wait for it, briefly."""
    table = screen.main_table() if hasattr(screen, "main_table") else None
    waited = 0.0
    while table is not None and not table.all_rows and waited < timeout:
        await asyncio.sleep(0.02)
        waited += 0.02


class ConsoleCommands(Provider):
    """Each hit runs the action, first switching to the screen it belongs to."""

    def _runner(self, mode: str | None, action: str) -> Callable[[], Any]:
        app: Any = self.app

        async def run() -> None:
            if mode is None:
                await app.run_action(action)
                return
            if mode and app.current_mode != mode:
                await app.switch_mode(mode)
                await _first_rows(app.screen)
            await app.run_action(action, app.screen)

        return partial(app.call_later, run)

    async def discover(self) -> Hits:
        for name, help_text, mode, action in ACTIONS:
            yield DiscoveryHit(name, self._runner(mode, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, mode, action in ACTIONS:
            score = matcher.match(f"{name} {help_text}")
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._runner(mode, action), text=name,
                          help=help_text)
