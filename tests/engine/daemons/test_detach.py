"""Detached spawning, log rotation and the control socket's handling of bad input."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from engine.daemons import detach, procs
from engine.daemons.execd import control
from tests.engine.daemons.conftest import wait_for


def test_spawn_detaches_and_reports_exec_failure(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "x.log"
    code = "import os, sys, time; print(os.getsid(0)); sys.stdout.flush(); time.sleep(30)"
    pid = detach.spawn([sys.executable, "-c", code], log, tmp_path)
    try:
        assert procs.alive(pid)
        wait_for(lambda: log.exists() and log.read_text().strip(), timeout=5)
        sid = int(log.read_text().split()[0])
        assert sid != os.getsid(0) and sid != pid  # own session, not its leader: no tty ever
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # re-parented: not our child to reap
    finally:
        procs.stop_tree(pid, 2.0)
    assert not procs.alive(pid)
    with pytest.raises(detach.SpawnError, match="FileNotFoundError"):
        detach.spawn([str(tmp_path / "no-such-program")], log, tmp_path)


def test_rotate_by_size_keeps_a_few(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    for i in range(5):
        log.write_text(f"{i}" * 100)
        assert detach.rotate(log, max_bytes=50, keep=3)
    assert not log.exists()
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["d.log.1", "d.log.2", "d.log.3"]
    assert (tmp_path / "d.log.1").read_text().startswith("4")
    assert (tmp_path / "d.log.3").read_text().startswith("2")
    log.write_text("small")
    assert not detach.rotate(log, max_bytes=50)


def test_control_server_answers_and_survives_garbage(tmp_path: Path) -> None:
    server = control.ControlServer(tmp_path)
    try:
        assert (control.socket_path(tmp_path).stat().st_mode & 0o777) == 0o600
        c = socket.socket(socket.AF_UNIX)
        c.connect(str(control.socket_path(tmp_path)))
        c.sendall(b"this is not json\n")
        conn = wait_for(server.accept, timeout=2)
        got: list[object] = []
        wait_for(lambda: (m := server.read(conn)) is not None and not got.append(m), timeout=2)
        assert got == [{}]  # unreadable JSON is an empty request, not a crash
        server.reply(conn, {"ok": False})
        assert c.recv(100) == b'{"ok": false}\n'
        c.close()
        server.drop(conn)
    finally:
        server.close()
    assert not control.socket_path(tmp_path).exists()
    assert control.request(tmp_path, {"op": "status"}) is None
