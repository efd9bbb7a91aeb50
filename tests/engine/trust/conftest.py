"""Hosts as temp workdirs, and real serverd subprocesses on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.trust.keys import generate

REPO = Path(__file__).resolve().parents[3]
PY = sys.executable


@dataclass
class Host:
    name: str
    wd: Path
    fingerprint: str

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["VIGIL_HOSTNAME"] = self.name
        env["PYTHONPATH"] = str(REPO)
        return env

    def vigil(self, *args: str, stdin: str = "", timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PY, "-m", "engine", *args, "-w", str(self.wd)],
            input=stdin, capture_output=True, text=True, env=self.env, timeout=timeout, cwd=REPO,
        )

    def write_policy(self, text: str) -> Path:
        p = self.wd / "inputs" / "promises.cf"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p


@dataclass
class ServerProc:
    host: Host
    proc: subprocess.Popen[bytes]
    log: Path
    port: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text())
            if m:
                return m
            if self.proc.poll() is not None:
                m = re.search(pattern, self.text())
                if m:
                    return m
                raise AssertionError(f"serverd exited ({self.proc.returncode}):\n{self.text()}")
            time.sleep(0.05)
        raise AssertionError(f"'{pattern}' not in serverd log:\n{self.text()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def server_policy(share: Path | str, *, trustkeysfrom: str = "", allowusers: str = "",
                  cfruncommand: str = "", extra_access: str = "", maxconnections: int = 30,
                  roles: str = "") -> str:
    tk = f'trustkeysfrom => {{ "{trustkeysfrom}" }};' if trustkeysfrom else ""
    au = f'allowusers => {{ "{allowusers}" }};' if allowusers else ""
    cr = f'cfruncommand => "{cfruncommand}";' if cfruncommand else ""
    return f"""
body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ reports: "hello"; }}
body server control
{{
  allowconnects => {{ "127.0.0.1", "::1" }};
  allowallconnects => {{ "127.0.0.1", "::1" }};
  maxconnections => "{maxconnections}";
  {tk}
  {au}
  {cr}
}}
bundle server access_rules
{{
  access:
    "{share}"
      admit_ips => {{ "127.0.0.1" }};
{extra_access}
  roles:
{roles}
}}
"""


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[object]:
    def make(name: str) -> Host:
        wd = tmp_path / name
        (wd / "inputs").mkdir(parents=True)
        fp = generate(wd / "ppkeys")
        return Host(name, wd, fp)

    yield make


@pytest.fixture
def start_server() -> Iterator[object]:
    started: list[ServerProc] = []

    def start(host: Host, *args: str, wait: bool = True) -> ServerProc:
        log = host.wd / f"serverd-{len(started)}.log"
        with open(log, "wb") as f:
            proc = subprocess.Popen(
                [PY, "-m", "engine", "serverd", "-F", "-I", "-w", str(host.wd),
                 "--port", "0", "--bind", "127.0.0.1", *args],
                stdout=f, stderr=subprocess.STDOUT, env=host.env, cwd=REPO,
            )
        sp = ServerProc(host, proc, log)
        started.append(sp)
        if wait:
            m = sp.wait_for(r"listening on 127\.0\.0\.1:(\d+)")
            sp.port = int(m.group(1))
        return sp

    yield start
    for sp in started:
        with contextlib.suppress(Exception):
            sp.stop()


@pytest.fixture
def as_host(monkeypatch: pytest.MonkeyPatch) -> object:
    """Make in-process client calls speak as ``host``."""

    def use(host: Host) -> Host:
        monkeypatch.setenv("VIGIL_HOSTNAME", host.name)
        return host

    return use
