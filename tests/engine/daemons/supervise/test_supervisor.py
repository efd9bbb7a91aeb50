"""vigil up / down / restart / status with real detached daemons."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine.daemons import pidfile, procs
from engine.daemons.status import daemon_statuses
from tests.engine.daemons.conftest import standin, wait_for, write_policy


def vigil(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=timeout,
        check=False,
    )


def test_up_starts_daemons_detached_and_down_leaves_nothing(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    cp = vigil("up", "execd", "monitord", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    assert "execd: started" in cp.stdout and "monitord: started" in cp.stdout
    pids = {d: pidfile.read_pid(wd, d) for d in ("execd", "monitord")}
    for d, pid in pids.items():
        assert pid and procs.is_our_daemon(pid, d, wd)
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ppid, sid, tty = int(fields[1]), int(fields[3]), int(fields[4])
        assert tty == 0  # no controlling terminal
        assert sid != os.getsid(0) and ppid != os.getpid()
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
        assert os.readlink(f"/proc/{pid}/fd/1") == str(wd / "logs" / f"{d}.log")
    # A second `up` finds them running and starts nothing.
    cp = vigil("up", "execd", "monitord", "-w", str(wd))
    assert cp.returncode == 0 and cp.stdout.count("already running") == 2
    assert len(procs.find("execd", wd)) == 1 and len(procs.find("monitord", wd)) == 1
    # Let execd start some agents so that down has a tree to stop.
    wait_for(lambda: (wd / "outputs" / "previous").exists(), timeout=10)
    cp = vigil("down", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    assert "execd: stopped" in cp.stdout and "monitord: stopped" in cp.stdout
    for d, pid in pids.items():
        assert not procs.alive(pid)
        assert not (wd / f"{d}.pid").exists()
    for cmd in ("execd", "monitord", "agent"):
        assert procs.find(cmd, wd, foreground=False) == []


def test_up_reports_a_failing_daemon_and_starts_the_others(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    # serverd cannot start here: its port is taken by a socket this test holds
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        (wd / "vigil.toml").write_text(f"[serverd]\nport = {busy.getsockname()[1]}\n")
        cp = vigil("up", "-w", str(wd))
    assert cp.returncode == 1
    assert "serverd: failed:" in cp.stderr and "in use" in cp.stderr
    assert "execd: started" in cp.stdout and "monitord: started" in cp.stdout
    states = {s.name: s.state for s in daemon_statuses(wd, interval=0.0)}
    assert states == {"execd": "running", "serverd": "stopped", "monitord": "running"}


@pytest.mark.slow
def test_status_reports_tree_usage_and_json(wd: Path) -> None:
    write_policy(wd)
    standin(wd, sleep=30)
    cp = vigil("up", "execd", "monitord", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    wait_for(lambda: any(s.children for s in daemon_statuses(wd, 0.0) if s.name == "execd"), 10)
    cp = vigil("status", "--json", "-w", str(wd))
    data = json.loads(cp.stdout)
    by = {d["name"]: d for d in data["daemons"]}
    assert by["execd"]["state"] == "running" and by["execd"]["children"] >= 1
    assert by["execd"]["rss_bytes"] > 5_000_000 and by["execd"]["uptime_s"] >= 0
    assert by["serverd"]["state"] == "stopped" and by["serverd"]["pid"] is None
    assert data["next_run_at"] is not None and data["policy_ok"] is True
    cp = vigil("status", "-w", str(wd))
    assert "execd" in cp.stdout and "running" in cp.stdout and "next run" in cp.stdout


def test_stale_pidfile_is_detected_and_replaced(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (wd / "execd.pid").write_text(f"{dead.pid}\n")
    # Our own pid is alive but is not an execd: stale as well.
    (wd / "monitord.pid").write_text(f"{os.getpid()}\n")
    states = {s.name: (s.state, s.pid) for s in daemon_statuses(wd, interval=0.0)}
    assert states["execd"] == ("stale", dead.pid)
    assert states["monitord"] == ("stale", os.getpid())
    cp = vigil("status", "-w", str(wd))
    assert cp.returncode == 1 and "stale_pidfile" in cp.stdout
    cp = vigil("up", "execd", "-w", str(wd))
    assert cp.returncode == 0 and "removed stale pidfile" in cp.stdout
    assert pidfile.check(wd, "execd").state == "running"
    cp = vigil("down", "monitord", "-w", str(wd))
    assert cp.returncode == 0 and "stale" in cp.stdout
    assert procs.alive(os.getpid())  # a stale pidfile never gets its pid signalled
    assert not (wd / "monitord.pid").exists()


def test_daemon_refuses_to_start_twice(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    cp = vigil("up", "monitord", "-w", str(wd))
    assert cp.returncode == 0
    pid = pidfile.read_pid(wd, "monitord")
    # Run a second one in the foreground: it must refuse and exit.
    cp = vigil("monitord", "-F", "-w", str(wd), timeout=20)
    assert cp.returncode == 1 and "already running" in cp.stdout
    assert pidfile.read_pid(wd, "monitord") == pid and procs.alive(pid)


def test_restart_gives_a_new_pid(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    assert vigil("up", "monitord", "-w", str(wd)).returncode == 0
    old = pidfile.read_pid(wd, "monitord")
    cp = vigil("restart", "monitord", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    new = pidfile.read_pid(wd, "monitord")
    assert new and new != old and not procs.alive(old) and procs.alive(new)


def test_unknown_daemon_name_is_an_error(wd: Path) -> None:
    cp = vigil("up", "cronie", "-w", str(wd))
    assert cp.returncode == 2 and "unknown daemon 'cronie'" in cp.stderr
