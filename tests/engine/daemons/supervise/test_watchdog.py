"""vigil watchdog: repairs a killed execd, removes duplicates, kills stuck agents; cron line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.daemons import pidfile, procs
from engine.daemons.config import DaemonSettings
from engine.daemons.supervise import cron, supervisor
from engine.daemons.supervise.watchdog import run_once
from tests.engine.daemons.conftest import standin, wait_for, write_policy


def vigil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=60,
        check=False,
    )


def _impostor(root: Path, command: str) -> subprocess.Popen[bytes]:
    """A process whose command line reads like ``vigil <command>`` for ``root``."""
    extra = ["-F"] if command != "agent" else []
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "-m", "engine", command, *extra,
         "-w", str(root)],
        start_new_session=True,
    )


def test_kill_9_of_execd_is_repaired_by_the_watchdog(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    r = supervisor.start(wd, "execd")
    assert r.ok and r.pid
    os.kill(r.pid, signal.SIGKILL)
    wait_for(lambda: not procs.alive(r.pid), timeout=5)
    assert pidfile.check(wd, "execd").state == "stale"
    cp = vigil("watchdog", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    assert "execd was stale pidfile" in cp.stdout
    new = pidfile.read_pid(wd, "execd")
    assert new and new != r.pid and procs.is_our_daemon(new, "execd", wd)
    log = (wd / "logs" / "watchdog.log").read_text()
    assert "execd was stale pidfile" in log
    # Idempotent: a second pass finds everything in order and does nothing.
    cp = vigil("watchdog", "-w", str(wd))
    assert cp.returncode == 0 and cp.stdout == ""
    assert pidfile.read_pid(wd, "execd") == new


def test_watchdog_stops_duplicate_execd_and_keeps_the_listed_one(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    r = supervisor.start(wd, "execd")
    assert r.ok and r.pid
    dup = _impostor(wd, "execd")
    other_wd = _impostor(wd.parent / "elsewhere", "execd")
    try:
        wait_for(lambda: len(procs.find("execd", wd)) == 2, timeout=5)
        cp = vigil("watchdog", "-w", str(wd))
        assert cp.returncode == 0, cp.stderr
        assert f"stopped duplicate execd pid {dup.pid}" in cp.stdout
        assert dup.wait(timeout=10) is not None
        assert procs.alive(r.pid) and pidfile.read_pid(wd, "execd") == r.pid
        assert other_wd.poll() is None  # another workdir's process is never touched
    finally:
        for p in (dup, other_wd):
            if p.poll() is None:
                p.kill()
            p.wait()


def test_watchdog_kills_an_agent_past_the_ceiling(wd: Path) -> None:
    (wd / "vigil.toml").write_text("[execd]\ntick_seconds = 1\n[watchdog]\nagent_ceiling_minutes = 0\n")
    write_policy(wd)
    standin(wd)
    stuck = _impostor(wd, "agent")
    try:
        # A ceiling of 0 turns the check off.
        time.sleep(0.3)
        cp = vigil("watchdog", "-w", str(wd))
        assert cp.returncode == 0 and stuck.poll() is None
        # Settings count whole minutes; the pass itself takes any ceiling.
        rep = run_once(wd, DaemonSettings(agent_ceiling_minutes=0.001))
        assert any(f"killed agent pid {stuck.pid}" in a for a in rep.actions), rep
        assert stuck.wait(timeout=10) is not None
        assert "killed agent pid" in (wd / "logs" / "watchdog.log").read_text()
    finally:
        if stuck.poll() is None:
            stuck.kill()
        stuck.wait()


def test_install_cron_writes_the_line_exactly_once(wd: Path, tmp_path: Path) -> None:
    target = tmp_path / "crontab.txt"
    target.write_text("MAILTO=root\n0 1 * * * /usr/bin/true\n")
    other = cron.cron_line(wd.parent / "wd2", 5)
    with target.open("a") as fh:
        fh.write(other + "\n")
    for _ in range(2):
        cp = vigil("watchdog", "--install-cron", "--target", str(target), "-w", str(wd))
        assert cp.returncode == 0, cp.stderr
    lines = target.read_text().splitlines()
    ours = [ln for ln in lines if ln.endswith(f"watchdog -w {wd} >/dev/null 2>&1")]
    assert len(ours) == 1 and ours[0].startswith("*/5 * * * * ")
    assert "MAILTO=root" in lines and other in lines  # the rest is kept
    assert cron.installed(wd, str(target))
    # A cron.d file carries the user field.
    crond = tmp_path / "cron.d" / "vigil"
    crond.parent.mkdir()
    where = cron.install(wd, str(crond), 10)
    assert where == str(crond)
    line = crond.read_text().strip()
    assert line.startswith("*/10 * * * * ") and line.split()[5] != sys.executable


def test_concurrent_watchdogs_do_not_both_act(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    procs_ = [
        subprocess.Popen([sys.executable, "-m", "engine", "watchdog", "-w", str(wd)],
                         stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60)[0] for p in procs_]
    assert all(p.returncode == 0 for p in procs_)
    assert len(procs.find("execd", wd)) == 1
    assert sum("execd was not running" in o for o in outs) == 1


def test_watchdog_leaves_a_daemon_stopped_by_vigil_down(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    cp = vigil("up", "execd", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    cp = vigil("down", "execd", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    assert supervisor.stopped_on_purpose(wd, "execd")
    cp = vigil("watchdog", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    assert "execd was stopped on purpose" in cp.stdout and "started" not in cp.stdout
    assert procs.find("execd", wd) == [] and pidfile.read_pid(wd, "execd") is None
    # `vigil up` ends the deliberate stop: a later crash is repaired again.
    cp = vigil("up", "execd", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    assert not supervisor.stopped_on_purpose(wd, "execd")
    pid = pidfile.read_pid(wd, "execd")
    assert pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not procs.alive(pid), timeout=5)
    cp = vigil("watchdog", "-w", str(wd))
    assert cp.returncode == 0 and "execd was stale pidfile: started" in cp.stdout
