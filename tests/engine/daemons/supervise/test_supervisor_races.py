"""Daemons started by hand and `vigil up` racing itself, with real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.daemons import pidfile, procs
from engine.daemons.status import daemon_statuses
from engine.seed import seed_workdir
from engine.workdir import Workdir
from tests.engine.daemons.conftest import standin, wait_for, write_policy

VIGIL = Path(sys.executable).with_name("vigil")


def vigil(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=timeout,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.skipif(not VIGIL.exists(), reason="the vigil script is not installed beside python")
def test_serverd_started_as_vigil_serverd_is_running_and_kept(wd: Path) -> None:
    seed_workdir(Workdir(wd))
    assert vigil("key", "-w", str(wd)).returncode == 0
    # The entry-point script, not `python -m engine`: the command line says nothing of
    # "-m engine", only the lock tells that this process is the workdir's serverd.
    log = (wd / "logs" / "by-hand.log").open("wb")
    p = subprocess.Popen(
        [sys.executable, str(VIGIL), "serverd", "-F", "-w", str(wd), "--port", "0",
         "--bind", "127.0.0.1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_for(lambda: pidfile.read_pid(wd, "serverd") == p.pid, timeout=30)
        states = {s.name: (s.state, s.pid) for s in daemon_statuses(wd, interval=0.0)}
        assert states["serverd"] == ("running", p.pid)
        cp = vigil("status", "--json", "-w", str(wd))
        by = {d["name"]: d for d in json.loads(cp.stdout)["daemons"]}
        assert by["serverd"]["state"] == "running"
        assert "stale_pidfile" not in cp.stdout
        # `vigil up` finds it running: no second serverd, its pidfile left in place.
        cp = vigil("up", "serverd", "-w", str(wd))
        assert cp.returncode == 0, cp.stderr
        assert f"serverd: already running (pid {p.pid})" in cp.stdout
        assert pidfile.read_pid(wd, "serverd") == p.pid and p.poll() is None
        # ...and `vigil down` stops it.
        cp = vigil("down", "serverd", "-w", str(wd))
        assert cp.returncode == 0 and f"stopped (pid {p.pid})" in cp.stdout, cp.stdout + cp.stderr
        assert p.wait(timeout=10) is not None
        assert pidfile.read_pid(wd, "serverd") is None
    finally:
        if p.poll() is None:
            procs.stop_tree(p.pid, 3.0)
        p.wait()
        log.close()


@pytest.mark.slow
def test_the_pidfile_of_a_daemon_holding_its_lock_is_restored_not_replaced(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    assert vigil("up", "monitord", "-w", str(wd)).returncode == 0
    pid = pidfile.read_pid(wd, "monitord")
    assert pid
    (wd / "monitord.pid").unlink()
    cp = vigil("up", "monitord", "-w", str(wd))
    assert cp.returncode == 0, cp.stderr
    assert f"already running (pid {pid}); pidfile restored" in cp.stdout
    assert pidfile.read_pid(wd, "monitord") == pid and len(procs.find("monitord", wd)) == 1


def test_racing_ups_all_succeed_and_start_each_daemon_once(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    ups = [
        subprocess.Popen(
            [sys.executable, "-m", "engine", "up", "execd", "monitord", "-w", str(wd)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=90) for p in ups]
    for p, (out, err) in zip(ups, outs, strict=True):
        assert p.returncode == 0, out + err
        assert "failed" not in out + err
    for d in ("execd", "monitord"):
        found = procs.find(d, wd)
        assert len(found) == 1, (d, found)
        assert pidfile.check(wd, d) == pidfile.PidState("running", found[0].pid)
        assert sum(f"{d}: started" in out for out, _ in outs) == 1, outs
