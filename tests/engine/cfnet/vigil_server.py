"""A vigil serverd with both host keys on 127.0.0.1, ended by pid (a fixture)."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _vigil_key(wd: Path) -> Path:
    """A workdir with both host keys (Ed25519 and RSA), as 'vigil key' makes them."""
    r = subprocess.run([sys.executable, "-m", "engine", "key", "-w", str(wd)], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return wd


@dataclass
class VigilServer:
    wd: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log)
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not in serverd's log:\n{self.log[-4000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def vigil_policy(shared: list[str], trust: str = '"127.0.0.1"', extra: str = "",
                 roles: str = "") -> str:
    admits = "\n".join(f'    "{p}" admit => {{ "127.0.0.1" }};' for p in shared)
    tk = f"  trustkeysfrom => {{ {trust} }};\n" if trust else ""
    return f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ reports: "hello from vigil"; extra_class:: "extra is on"; }}
body server control {{
  allowconnects => {{ "127.0.0.1" }};
  allowallconnects => {{ "127.0.0.1" }};
{tk}  allowusers => {{ "root" }};
{extra}}}
bundle server access_rules {{
  access:
{admits}
  roles:
{roles}
}}
"""


@pytest.fixture
def vigil_serverd(tmp_path: Path) -> Iterator[object]:
    started: list[VigilServer] = []

    def start(name: str, shared: list[str], **kw: str) -> VigilServer:
        wd = _vigil_key(tmp_path / name)
        (wd / "inputs").mkdir(exist_ok=True)
        (wd / "inputs" / "promises.cf").write_text(vigil_policy(shared, **kw))
        (wd / "vigil.toml").write_text("[serverd]\nhandshake_timeout_seconds = 3\n"
                                       "idle_timeout_seconds = 5\n")
        log = wd / "serverd.out"
        with open(log, "wb") as f:
            proc = subprocess.Popen(
                [sys.executable, "-m", "engine", "serverd", "-F", "-v", "-w", str(wd),
                 "--port", "0", "--bind", "127.0.0.1"],
                stdout=f, stderr=subprocess.STDOUT, cwd=REPO)
        srv = VigilServer(wd, proc, log)
        started.append(srv)
        srv.port = int(srv.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
        return srv

    yield start
    for s in started:
        with contextlib.suppress(Exception):
            s.stop()
