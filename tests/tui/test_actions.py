"""Pilot tests on the fixture workdir: every screen, filter, sort, pause, readonly,
clearing a lock in the real LMDB, accepting and rejecting pending keys."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from engine.state.locks import LockDB
from engine.trust.store import PeerState, TrustStore
from engine.workdir import Workdir
from tests.tui import fixture
from tests.tui.conftest import make_app, settle
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.status_line import StatusLine
from tui.widgets.virtual_table import VirtualTable

pytestmark = pytest.mark.slow  # each test drives the console on a real workdir

SIZE = (120, 36)


def table(pilot: Pilot[Any], selector: str) -> VirtualTable[Any]:
    return pilot.app.screen.query_one(selector, VirtualTable)


async def select(pilot: Pilot[Any], tbl: VirtualTable[Any], pred: Any) -> Any:
    """Move the cursor with the keyboard onto the first row matching ``pred``."""
    target = next(i for i, r in enumerate(tbl.rows) if pred(r))
    await pilot.press("home")
    for _ in range(target):
        await pilot.press("down")
    await pilot.pause()
    assert tbl.selected_row is tbl.rows[target]
    return tbl.rows[target]


def status_text(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one(StatusLine).render())


async def test_every_screen_shows_its_data(fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        daemons = table(pilot, "#daemons")
        assert [r.name for r in daemons.rows] == ["execd", "serverd", "monitord", "console"]
        assert all(r.state == "stopped" for r in daemons.rows[:3])
        for key, selector, expected in [
            ("2", "#classes", {"debug_mode", "maintenance_window", "web_tier"}),
            ("3", "#locks", {"/usr/local/bin/backup.sh", "/etc/ssh/sshd_config"}),
            ("5", "#peers", {"hub01", "web07", "old02"}),
            ("6", "#observables", {"loadavg", "cpu", "diskfree"}),
        ]:
            await pilot.press(key)
            await settle(pilot)
            rows = table(pilot, selector).rows
            names = {getattr(r, "name", None) or getattr(r, "promiser", None) or getattr(r, "host", None)
                     for r in rows}
            assert expected <= names, (key, names)
        await pilot.press("4")
        await settle(pilot)
        runs = table(pilot, "#runs").rows
        assert len(runs) == 4 and runs[0].exit_code == 1  # newest first
        assert runs[0].start > runs[-1].start


async def test_held_lock_counts_down_with_the_clock(fixture_wd: Workdir, frozen: float) -> None:
    now = [fixture.FROZEN]
    app = make_app(fixture_wd, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        screen: Any = app.screen
        locks = table(pilot, "#locks")
        ssh = next(r for r in locks.rows if r.promiser == "/etc/ssh/sshd_config")
        held = next(r for r in locks.rows if r.holder_pid)
        assert held.holder_pid == fixture.HOLDER_PID
        assert screen._may_run(ssh, now[0]) == "41m 00s"
        assert screen._may_run(held, now[0]) == ("held 1h 30m", "vt--warn")
        now[0] += 1  # one second later, without reading the database again
        assert screen._may_run(ssh, now[0]) == "40m 59s"
        now[0] += 41 * 60
        assert screen._may_run(ssh, now[0]) == ("ready", "vt--ok")


async def test_filter_and_sort_locks(fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        locks = table(pilot, "#locks")
        assert locks.total == 6
        await pilot.press("slash", *"nginx")
        await pilot.pause()
        assert [r.promiser for r in locks.rows] == ["/etc/nginx/nginx.conf"]
        await pilot.press("enter")
        await pilot.pause()
        assert locks.has_focus and locks.filter_text == "nginx"
        assert "1 shown" in str(app.screen.query_one("#locks-head").render())
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert len(locks.rows) == 6
        await pilot.press("o")  # bundle
        assert [r.bundle for r in locks.rows][:2] == ["backup", "daily"]
        await pilot.press("o", "o", "o", "o", "o")  # type, promiser, last done, ifelapsed, may run in
        assert locks.sort_column is not None and locks.sort_column.key == "ready"
        ready = [r.promiser for r in locks.rows[:2]]
        assert set(ready) == {"sshd", "vigil heartbeat"}


async def test_pause_shows_paused_and_stops_polling(fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd, live=True, refresh_seconds=0.05)
    polls: list[int] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        assert app.paused and "PAUSED" in status_text(pilot)
        await app.workers.wait_for_complete()
        source = app.source
        original = source.common

        def counting() -> Any:
            polls.append(1)
            return original()

        source.common = counting  # type: ignore[method-assign]
        await pilot.pause(0.4)
        assert polls == []  # the timer re-armed itself but read nothing
        await pilot.press("p")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        assert not app.paused and "PAUSED" not in status_text(pilot)
        assert len(polls) >= 2  # live again: read now, then on the timer


async def test_clear_lock_in_real_lmdb(fixture_wd: Workdir, frozen: float) -> None:
    ssh_id = fixture.lock_id("main", "files", "/etc/ssh/sshd_config")
    app = make_app(fixture_wd)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        locks = table(pilot, "#locks")
        await select(pilot, locks, lambda r: r.id == ssh_id)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        await settle(pilot)
        assert ssh_id not in {r.id for r in locks.rows}
        assert locks.total == 5
    db = LockDB.open(fixture_wd.lock_db, purge=False)
    try:
        assert db.get(ssh_id) == (None, None)
        assert db.get(fixture.lock_id("daily", "commands", "/usr/bin/apt-get update"))[0] is not None
    finally:
        db.close()


async def test_cancelled_clear_keeps_the_lock(fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("n")
        await settle(pilot)
        assert table(pilot, "#locks").total == 6


async def test_readonly_refuses_every_action(fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "READ-ONLY" in status_text(pilot)
        for screen_key, action_key in [("1", "S"), ("1", "s"), ("3", "x"), ("5", "a"), ("5", "e"), ("1", "K")]:
            await pilot.press(screen_key)
            await settle(pilot)
            await pilot.press(action_key)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen), action_key
            assert app.jobs.forced is None
            # the binding is off: not in the footer, and the key does nothing
            shown = {b.binding.key for b in app.screen.active_bindings.values() if b.enabled}
            assert action_key not in shown, action_key
    assert len(TrustStore(fixture_wd.ppkeys).list(PeerState.PENDING)) == 2


async def test_accept_and_reject_pending_keys(fixture_wd: Workdir, frozen: float) -> None:
    store = TrustStore(fixture_wd.ppkeys)
    web07 = next(p for p in store.list(PeerState.PENDING) if p.host == "web07")
    app = make_app(fixture_wd)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        peers = table(pilot, "#peers")
        await select(pilot, peers, lambda p: p.host == "hub01")
        await pilot.press("a")  # a trusted key: nothing to accept
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await select(pilot, peers, lambda p: p.host == "web07")
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        await settle(pilot)
        assert store.get(web07.fingerprint).state is PeerState.TRUSTED
        changed = await select(pilot, peers, lambda p: p.changed_from)
        await pilot.press("r")
        await pilot.pause()
        text = str(app.screen.query_one("#confirm-text").render())
        assert "KEY CHANGED" in text
        assert changed.fingerprint in text and changed.changed_from in text
        await pilot.press("y")
        await settle(pilot)
        await settle(pilot)
        assert store.get(changed.fingerprint).state is PeerState.REJECTED


async def test_run_detail_says_why_promises_were_skipped(fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        promises = table(pilot, "#promises")
        now = fixture.FROZEN
        why = {r.promiser: promises.columns[-1].cell(r, now) for r in promises.rows}
        assert why["/etc/ssh/sshd_config"] == "locked: ran 14 min before, ifelapsed 60 min"
        assert why["/usr/sbin/service nginx reload"] == "class guard false: nginx_changed is not defined"
        log = app.screen.query_one("#run-output")
        assert "vigil heartbeat on testhost" in "\n".join(log.lines)  # execd's captured output
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.query_one("#runs") is not None


async def test_help_and_palette(fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"clear lock")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.pause(0.2)
        assert app.current_mode == "locks"
        assert isinstance(app.screen, ConfirmScreen)  # the palette ran "clear lock" on Locks
        await pilot.press("n")


async def test_offers_to_start_stopped_daemons(fixture_wd: Workdir, frozen: float) -> None:
    app = make_app(fixture_wd, offer_start=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause(0.5)  # asked once the overview has painted
        assert isinstance(app.screen, ConfirmScreen)
        assert "vigil up" in str(app.screen.query_one("#confirm-text").render())
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)


async def test_enter_on_a_lock_opens_its_promise(fixture_wd: Workdir, frozen: float) -> None:
    from tui.screens.lock_detail import LockDetailScreen

    app = make_app(fixture_wd)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await select(pilot, table(pilot, "#locks"), lambda r: r.promiser == "/etc/ssh/sshd_config")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LockDetailScreen)
        fields = str(app.screen.query_one("#lock-fields").render())
        assert "ifelapsed               60 min" in fields and "/etc/ssh/sshd_config" in fields
        assert str(app.screen.query_one("#lock-source").render()).startswith(f"{fixture.POLICY}:41")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LockDetailScreen)
