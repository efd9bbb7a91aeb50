"""The keep-alive policy (policies/lib/keepalive.cf) run by the real agent under execd."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.daemons import pidfile, procs
from engine.daemons.execd.agentrun import AGENT_COMMAND_ENV
from engine.daemons.supervise import supervisor
from tests import cfengine
from tests.engine.daemons.conftest import wait_for

LIB = Path(__file__).resolve().parents[4] / "policies" / "lib" / "keepalive.cf"

PROMISES = """
body common control
{
      bundlesequence => { "vigil_keepalive" };
      inputs         => { "$(sys.inputdir)/lib/keepalive.cf" };
}
body executor control { schedule => { "any" }; }
bundle common def { vars: "vigil_cron_file" string => "$(sys.workdir)/cron.txt"; }
"""


@pytest.fixture
def kwd(wd: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workdir whose execd runs the real agent on the keep-alive policy every second."""
    monkeypatch.delenv(AGENT_COMMAND_ENV)
    (wd / "inputs" / "lib").mkdir(parents=True)
    shutil.copy(LIB, wd / "inputs" / "lib" / "keepalive.cf")
    (wd / "inputs" / "promises.cf").write_text(PROMISES)
    return wd


def test_policy_is_accepted_by_vigil_and_cf_promises(tmp_path: Path) -> None:
    main = tmp_path / "main.cf"
    shutil.copy(LIB, tmp_path / "keepalive.cf")
    main.write_text('body common control { bundlesequence => { "vigil_keepalive" }; inputs => { "keepalive.cf" }; }\n')
    cp = subprocess.run([sys.executable, "-m", "engine", "promises", "-f", str(main)],
                        capture_output=True, text=True, check=False)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    if cfengine.which("cf-promises"):
        cp = subprocess.run(["cf-promises", "-f", str(main)], capture_output=True, text=True, check=False)
        assert cp.returncode == 0, cp.stdout + cp.stderr


@pytest.mark.slow
def test_kill_9_of_monitord_is_repaired_by_the_next_agent_run(kwd: Path) -> None:
    for d in ("execd", "monitord"):
        r = supervisor.start(kwd, d)
        assert r.ok, r.message
    old = pidfile.read_pid(kwd, "monitord")
    assert old
    os.kill(old, signal.SIGKILL)
    new = wait_for(
        lambda: (p := pidfile.read_pid(kwd, "monitord")) != old and p and procs.alive(p) and p,
        timeout=20,
    )
    assert procs.is_our_daemon(new, "monitord", kwd)
    said = "R: vigil keep-alive: monitord was down and has been restarted"
    wait_for(lambda: any(said in p.read_text() for p in (kwd / "outputs").glob("cf_*")), 10)
    # The cron line is there exactly once, however many runs went by.
    wait_for(lambda: len(list((kwd / "outputs" / "runs").glob("*.json"))) >= 3, timeout=15)
    lines = [ln for ln in (kwd / "cron.txt").read_text().splitlines() if "watchdog -w" in ln]
    assert lines == [f"*/5 * * * * {sys.executable} -m engine watchdog -w {kwd} >/dev/null 2>&1"]


def test_stopped_on_purpose_stays_stopped_and_manual_runs_start_nothing(kwd: Path) -> None:
    assert supervisor.start(kwd, "monitord").ok
    assert supervisor.stop(kwd, "monitord").ok  # removes the pidfile
    env = {k: v for k, v in os.environ.items() if k != AGENT_COMMAND_ENV}
    cp = subprocess.run(
        [sys.executable, "-m", "engine", "agent", "-K", "-D", "cf_execd_initiated", "-w", str(kwd)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert procs.find("monitord", kwd) == []
    # A daemon that died (stale pidfile) is not restarted by a manual run either.
    (kwd / "monitord.pid").write_text("999999\n")
    cp = subprocess.run(
        [sys.executable, "-m", "engine", "agent", "-K", "-w", str(kwd)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert cp.returncode == 0 and procs.find("monitord", kwd) == []


def test_a_daemon_marked_stopped_on_purpose_is_not_restarted(kwd: Path) -> None:
    assert supervisor.start(kwd, "monitord").ok
    old = pidfile.read_pid(kwd, "monitord")
    assert old
    os.kill(old, signal.SIGKILL)  # its pidfile stays behind: it looks crashed...
    wait_for(lambda: not procs.alive(old), timeout=5)
    marker = supervisor.stop_marker(kwd, "monitord")
    marker.write_text("0\n")  # ...but the admin said `vigil down monitord`
    env = {k: v for k, v in os.environ.items() if k != AGENT_COMMAND_ENV}
    agent = [sys.executable, "-m", "engine", "agent", "-K", "-D", "cf_execd_initiated", "-w",
             str(kwd)]
    cp = subprocess.run(agent, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert procs.find("monitord", kwd) == []
    # Without the marker the same run restarts it.
    marker.unlink()
    cp = subprocess.run(agent, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "monitord was down and has been restarted" in cp.stdout
    assert len(procs.find("monitord", kwd)) == 1
