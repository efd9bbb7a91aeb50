"""End to end in a real terminal: ``vigil console -w tmp`` under tmux."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tui.test_live import SLOW_POLICY, workdir

pytestmark = [pytest.mark.slow,  # the console in a real terminal
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


class Tmux:
    """One detached session on a private tmux server (its own socket)."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              timeout=10).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "con")

    def wait_for(self, text: str, timeout: float) -> float:
        start = time.monotonic()
        while text not in self.screen():
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{text!r} not on screen after {timeout} s:\n{self.screen()}")
            time.sleep(0.05)
        return time.monotonic() - start


def test_console_in_tmux_shows_daemons_and_streams_a_forced_run(tmp_path: Path) -> None:
    wd = workdir(tmp_path / "wd", SLOW_POLICY)
    tmux = Tmux(f"vigil-test-{os.getpid()}")
    cmd = f"{sys.executable} -m engine console -w {wd.root}"
    try:
        tmux.run("-f", "/dev/null", "new-session", "-d", "-s", "con", "-x", "120", "-y", "36",
                 "-e", f"PYTHONPATH={Path(__file__).resolve().parents[2]}", cmd)
        tmux.run("set", "-s", "escape-time", "0")
        tmux.wait_for("monitord", timeout=5.0)
        tmux.wait_for("✗ stopped", timeout=5.0)  # the daemons with their state, in words
        tmux.wait_for("No daemon is running", timeout=5.0)
        tmux.run("send-keys", "-t", "con", "n")
        time.sleep(0.3)
        tmux.run("send-keys", "-t", "con", "K")
        tmux.wait_for("-K ignores locks", timeout=5.0)
        tmux.wait_for("Executing", timeout=10.0)
        assert "finished" not in tmux.screen()  # output shows while the agent still runs
        tmux.wait_for("R: hello from the forced run", timeout=15.0)
        tmux.wait_for("finished: exit 0", timeout=15.0)
        tmux.run("send-keys", "-t", "con", "Escape")
        time.sleep(0.2)
        tmux.run("send-keys", "-t", "con", "q")
    finally:
        tmux.run("kill-server")
