"""Real CFEngine programs on 127.0.0.1: cf-serverd in a temp workdir on a free port,
ended by pid; vigil workdirs with both host keys."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cfengine import cf_env, make_workdir, requires_cfengine
from tests.engine.cfnet.vigil_server import vigil_serverd  # noqa: F401  (a fixture: vigil's serverd)

REPO = Path(__file__).resolve().parents[3]
#: cf-serverd beside cf-agent: what these tests run against.
needs_cfengine = requires_cfengine("cf-serverd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cf_workdir(wd: Path) -> Path:
    """A CFEngine workdir with a key of its own (hosts must differ) and an inert failsafe."""
    return make_workdir(wd, keys="own")


def vigil(wd: Path, *args: str, timeout: float = 120, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args, "-w", str(wd)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, input=stdin,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def vigil_workdir(wd: Path) -> Path:
    r = vigil(wd, "key")
    assert r.returncode == 0, r.stderr
    return wd


@dataclass
class CfServer:
    wd: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def log(self) -> str:
        return (self.wd / "serverd.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def server_policy(wd: Path, port: int, shared: list[str], extra: str = "",
                  trust: str = '"127.0.0.1"', cfrun: str = "") -> str:
    admits = "\n".join(f'    "{p}" admit => {{ "127.0.0.1" }};' for p in shared)
    run = f'  cfruncommand => "{cfrun}";\n' if cfrun else ""
    return f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ }}
body server control {{
  port => "{port}";
  allowconnects => {{ "127.0.0.1" }};
  allowallconnects => {{ "127.0.0.1" }};
  trustkeysfrom => {{ {trust} }};
  allowusers => {{ "root" }};
{run}{extra}}}
bundle server access_rules {{
  access:
{admits}
}}
"""


def start_cf_serverd(wd: Path, shared: list[str], **kw: str) -> CfServer:
    cf_workdir(wd)
    port = free_port()
    (wd / "inputs" / "promises.cf").write_text(server_policy(wd, port, shared, **kw))
    with open(wd / "serverd.log", "wb") as log:
        proc = subprocess.Popen(["cf-serverd", "-F", "-v"], env=cf_env(wd), stdout=log,
                                stderr=subprocess.STDOUT)
    srv = CfServer(wd, port, proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return srv
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    srv.stop()
    raise AssertionError(f"cf-serverd did not start:\n{srv.log[-3000:]}")


@pytest.fixture
def cf_serverd(tmp_path: Path) -> Iterator[object]:
    started: list[CfServer] = []

    def start(shared: list[str], name: str = "hub", **kw: str) -> CfServer:
        s = start_cf_serverd(tmp_path / name, shared, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
