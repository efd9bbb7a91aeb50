"""The console driving real processes: a forced run of the real agent, daemons started
and stopped from the overview, and a key exchange with a real serverd on 127.0.0.1."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from engine.daemons.status import daemon_statuses
from engine.trust.identity import host_name
from engine.trust.keys import generate
from engine.trust.store import PeerState, TrustStore
from engine.workdir import Workdir
from tests.cfengine import cf_env, make_workdir, requires_cfengine
from tests.tui.conftest import settle
from tui.app import VigilConsole
from tui.screens.confirm import ConfirmScreen
from tui.screens.forced_run import ForcedRunScreen
from tui.screens.key_exchange import KeyExchangeScreen

pytestmark = pytest.mark.slow  # real daemons and a real console

SIZE = (120, 36)
REPO = Path(__file__).resolve().parents[2]

SLOW_POLICY = """
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  commands:
      "/bin/sleep 1";
  reports:
      "hello from the forced run";
}
"""


def workdir(root: Path, policy: str = SLOW_POLICY) -> Workdir:
    wd = Workdir(root).ensure()
    wd.promises_cf.write_text(policy, encoding="utf-8")
    return wd


async def wait_until(pilot: Pilot[Any], cond: Any, timeout: float = 20.0, poll: bool = False) -> None:
    """Wait for ``cond``; with ``poll`` the console reads again every half second (its
    timer is off in these tests)."""
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)
        if poll and time.monotonic() - last > 0.5:
            pilot.app.refresh_now()
            last = time.monotonic()


async def test_forced_run_streams_output_and_is_debounced(tmp_path: Path) -> None:
    wd = workdir(tmp_path / "wd")
    app = VigilConsole(wd, live=False, offer_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("K")
        await pilot.pause()
        assert isinstance(app.screen, ForcedRunScreen)
        note = str(app.screen.query_one("#run-note").render())
        assert "-K ignores locks" in note and "untouched" in note
        await wait_until(pilot, lambda: any("Executing" in line for line in app.jobs.forced.lines))
        assert not app.jobs.forced.done  # still sleeping: the output streams while it runs
        await pilot.press("K")  # a second K while it runs
        await pilot.pause()
        assert any(n.message == "a run is already going" for n in app._notifications)
        await wait_until(pilot, lambda: app.jobs.forced.done)
        await settle(pilot)
        assert app.jobs.forced.returncode == 0
        log = "\n".join(app.screen.query_one("#run-log").lines)
        assert "R: hello from the forced run" in log
        assert "finished: exit 0" in str(app.screen.query_one("#run-state").render())
        await pilot.press("escape", "4")
        await settle(pilot)
        runs = app.screen.query_one("#runs").rows
        assert [r.started_by for r in runs] == ["forced"]  # every screen read again
    assert not wd.lock_db.exists()  # -K left the lock database alone


async def test_start_and_stop_a_daemon_from_the_overview(tmp_path: Path) -> None:
    wd = workdir(tmp_path / "wd", SLOW_POLICY.replace("/bin/sleep 1", "/bin/true"))
    app = VigilConsole(wd, live=False, offer_start=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            daemons = app.screen.query_one("#daemons")
            assert daemons.selected_row.name == "execd"
            await pilot.press("s")
            await wait_until(pilot, lambda: daemons.rows[0].state == "running", timeout=30, poll=True)
            assert daemons.rows[0].pid and daemons.rows[0].rss_bytes
            await pilot.press("S")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await wait_until(pilot, lambda: daemons.rows[0].state == "stopped", timeout=30, poll=True)
        assert {s.name: s.state for s in daemon_statuses(wd)}["execd"] == "stopped"
    finally:
        subprocess.run([sys.executable, "-m", "engine", "down", "-w", str(wd.root)],
                       capture_output=True, timeout=60)


SERVER_POLICY = """
body common control { bundlesequence => { "main" }; }
bundle agent main { reports: "hello"; }
body server control { allowconnects => { "127.0.0.1" }; allowallconnects => { "127.0.0.1" }; }
bundle server access_rules
{
  access:
    "/nonexistent" admit_ips => { "127.0.0.1" };
}
"""


async def test_key_exchange_with_a_real_server(tmp_path: Path) -> None:
    a = workdir(tmp_path / "a", SERVER_POLICY)
    b = workdir(tmp_path / "b")
    a_fp = generate(a.ppkeys)
    b_fp = generate(b.ppkeys)
    log = tmp_path / "serverd.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "serverd", "-F", "-I", "-w", str(a.root),
             "--port", "0", "--bind", "127.0.0.1"],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
        )
    try:
        deadline = time.monotonic() + 15
        port = None
        while port is None:
            assert time.monotonic() < deadline, log.read_text()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
            port = int(m.group(1)) if m else None
            time.sleep(0.05)
        app = VigilConsole(b, live=False, offer_start=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            await settle(pilot)
            assert b_fp in str(app.screen.query_one("#my-key").render())
            await pilot.press("e")
            await pilot.pause()
            assert isinstance(app.screen, KeyExchangeScreen)
            await pilot.press(*f"127.0.0.1:{port}", "enter")
            kx = app.screen
            await wait_until(pilot, lambda: kx.probe is not None)
            question = str(kx.query_one("#kx-question").render())
            # the peer as it names itself, and where it was reached
            assert kx.probe.name == f"{host_name()} (127.0.0.1:{port})"
            assert question == (
                f"Does this match the fingerprint printed by 'vigil key --print' on {kx.probe.name}?"
            )
            shown = str(kx.query_one("#kx-fingerprint").render()).replace("\n", "").replace(" ", "")
            assert shown == a_fp
            await pilot.press("y")
            await wait_until(pilot, lambda: "PENDING" in str(kx.query_one("#kx-status").render()))
            status = str(kx.query_one("#kx-status").render())
            assert b_fp in status  # what to accept over there
            assert "will work" not in status  # only keys were checked
            await pilot.press("escape")
            await settle(pilot)
        assert TrustStore(b.ppkeys).get(a_fp).state is PeerState.TRUSTED
        assert TrustStore(a.ppkeys).get(b_fp).state is PeerState.PENDING
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


CF_POLICY = """
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  reports:
      "hello from cf-agent";
}
"""


@requires_cfengine
async def test_attached_to_a_cfengine_workdir(tmp_path: Path) -> None:
    root = make_workdir(tmp_path / "cfwd")
    env = cf_env(root)
    (root / "inputs" / "promises.cf").write_text(CF_POLICY)
    subprocess.run(["cf-agent", "-I"], env=env, capture_output=True, timeout=120)
    wd = Workdir(root, cfengine=True)
    app = VigilConsole(wd, live=False, offer_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "(CFEngine)" in str(app.screen.query_one("#status-line").render())
        await pilot.press("3")
        await settle(pilot)
        locks = app.screen.query_one("#locks").rows
        assert any(r.bundle == "main" and r.promise_type == "reports" for r in locks)
        await pilot.press("K")
        await pilot.pause()
        assert "cf-agent -K -I" in str(app.screen.query_one("#run-title").render())
        await wait_until(pilot, lambda: app.jobs.forced is not None and app.jobs.forced.done, timeout=60)
        assert "R: hello from cf-agent" in app.jobs.forced.lines
