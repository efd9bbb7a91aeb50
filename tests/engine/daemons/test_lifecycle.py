"""The lifecycle every daemon shares: lock and pidfile, signals, its log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.daemons import detach, pidfile, procs
from engine.daemons.lifecycle import Lifecycle, daemon_logger
from engine.log import Level, LineLogger
from tests.engine.daemons.conftest import wait_for


def _logger() -> tuple[LineLogger, list[str]]:
    lines: list[str] = []
    return LineLogger(Level.INFO, sink=lines.append), lines


def test_claim_publish_close_and_a_second_copy_refused(tmp_path: Path) -> None:
    log, lines = _logger()
    life = Lifecycle(tmp_path, "monitord", log)
    assert life.claim(publish=False)
    assert pidfile.read_pid(tmp_path, "monitord") is None  # not ready yet
    assert pidfile.lock_holder(tmp_path, "monitord") == os.getpid()
    life.publish()
    assert pidfile.read_pid(tmp_path, "monitord") == os.getpid()
    second = Lifecycle(tmp_path, "monitord", log)
    assert not second.claim()
    assert lines == [f"   error: monitord is already running for this workdir (pid {os.getpid()})"]
    life.close()
    assert not pidfile.pidfile_path(tmp_path, "monitord").exists()
    assert not pidfile.is_locked(tmp_path, "monitord")


def test_a_second_copy_on_a_port_of_its_own_claims_its_fallback_name(tmp_path: Path) -> None:
    log, lines = _logger()
    first, second = Lifecycle(tmp_path, "serverd", log), Lifecycle(tmp_path, "serverd", log)
    assert first.claim()
    assert second.claim(fallback="serverd-5309")
    try:
        assert pidfile.read_pid(tmp_path, "serverd-5309") == os.getpid()
        assert second.log_file == detach.log_path(tmp_path, "serverd")  # one log for both
    finally:
        second.close()
        first.close()
    assert lines == []
    assert not pidfile.pidfile_path(tmp_path, "serverd-5309").exists()


def test_a_lock_that_cannot_be_taken_is_an_error_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the state directory belongs\n")
    log, lines = _logger()
    assert not Lifecycle(tmp_path, "execd", log).claim()
    assert len(lines) == 1 and lines[0].startswith("   error: Cannot start: "), lines


def test_signals_stop_and_reload_wake_the_selector_and_are_given_back(tmp_path: Path) -> None:
    calls: list[str] = []
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    life = Lifecycle(tmp_path, "execd", _logger()[0])
    try:
        life.on_signals(lambda: calls.append("stop"), lambda: calls.append("reload"), wake_fd=wake_w)
        for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            signal.raise_signal(signum)
        assert calls == ["reload", "stop", "stop"]
        assert len(os.read(wake_r, 64)) == 3  # one byte per signal: the selector wakes
    finally:
        life.close()
        os.close(wake_r)
        os.close(wake_w)
    assert {s: signal.getsignal(s) for s in before} == before
    assert signal.set_wakeup_fd(-1) == -1  # the wake-up fd was given back too


def test_signals_in_an_asyncio_loop(tmp_path: Path) -> None:
    async def main() -> tuple[bool, bool]:
        stop, reload = asyncio.Event(), asyncio.Event()
        life = Lifecycle(tmp_path, "serverd", _logger()[0])
        life.on_signals(stop.set, reload.set, loop=asyncio.get_running_loop())
        try:
            signal.raise_signal(signal.SIGHUP)
            await asyncio.wait_for(reload.wait(), 5)
            got_stop_early = stop.is_set()
            signal.raise_signal(signal.SIGTERM)
            await asyncio.wait_for(stop.wait(), 5)
            return got_stop_early, reload.is_set()
        finally:
            life.close()

    assert asyncio.run(main()) == (False, True)


def test_the_log_is_rotated_only_when_it_is_stdout(tmp_path: Path) -> None:
    log = detach.log_path(tmp_path, "monitord")
    log.parent.mkdir()
    code = (
        "import sys; from pathlib import Path\n"
        "from engine.daemons.lifecycle import Lifecycle, daemon_logger\n"
        "log = daemon_logger()\n"
        f"life = Lifecycle(Path({str(tmp_path)!r}), 'monitord', log)\n"
        "log.info('x' * (1 << 20))\n"
        "life.rotate_log()\n"
        "log.info('after the rotation')\n"
    )
    with log.open("ab") as out:
        subprocess.run([sys.executable, "-c", code], stdout=out, check=True, timeout=60)
    rotated = log.with_name("monitord.log.1")
    assert rotated.stat().st_size > 1 << 20 and "after the rotation" not in rotated.read_text()
    assert "after the rotation" in log.read_text() and log.stat().st_size < 200
    # the same code with stdout elsewhere leaves the (big) log file alone
    subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=60)
    assert not log.with_name("monitord.log.2").exists()


def test_daemon_logger_writes_timestamped_lines_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    daemon_logger().info("one line")
    out = capsys.readouterr().out
    assert out.endswith("    info: one line\n") and out[:4].isdigit()


@pytest.mark.slow
def test_monitord_reads_its_policy_again_on_sighup_and_stops_on_sigterm(wd: Path) -> None:
    """SIGHUP is a reload for every daemon (it used to end monitord)."""
    log = wd / "monitord.out"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "monitord", "-F", "--interval", "0.3", "-w", str(wd)],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: pidfile.read_pid(wd, "monitord") == proc.pid, 20)
        wait_for(lambda: (wd / "state" / "env_data").exists(), 20)
        proc.send_signal(signal.SIGHUP)
        (wd / "state" / "env_data").unlink()
        wait_for(lambda: (wd / "state" / "env_data").exists(), 20)  # still sampling
        assert proc.poll() is None and pidfile.check(wd, "monitord").state == "running"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            procs.stop_tree(proc.pid, 5.0)
    assert not pidfile.pidfile_path(wd, "monitord").exists()
    assert "monitord stopped" in log.read_text()
