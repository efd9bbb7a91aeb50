"""A plain install: a wheel built from a copy of the tree, in a fresh venv, runs vigil.

The wheel must carry the shipped policy (package data), so that ``vigil up`` in a new
workdir seeds it; the daemons must run from the installed package alone, the keep-alive
policy must restart a killed monitord, and ``vigil down`` must hold against the watchdog.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.daemons.execd.agentrun import AGENT_COMMAND_ENV
from engine.daemons.procs import alive

ROOT = Path(__file__).resolve().parents[2]
DAEMONS = ("execd", "monitord", "serverd")

pytestmark = pytest.mark.slow


def _run(argv: list[str], env: dict[str, str], timeout: float = 600, **kw: object
         ) -> subprocess.CompletedProcess[str]:
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                        check=False, **kw)  # type: ignore[call-overload]
    assert cp.returncode == 0, f"{argv}\n{cp.stdout}\n{cp.stderr}"
    return cp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(pred, timeout: float, what: str) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s: {what}")


def _ours(wd: Path) -> list[int]:
    """Live processes whose command line names the workdir (ours, by construction)."""
    import psutil

    out = []
    for p in psutil.process_iter(["cmdline", "status"]):
        if p.info["status"] != psutil.STATUS_ZOMBIE and str(wd) in " ".join(p.info["cmdline"] or []):
            out.append(p.pid)
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A venv with vigil installed from a wheel built off a copy of the tree."""
    pytest.importorskip("build")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("engine", "tui"):
        shutil.copytree(ROOT / name, src / name, ignore=junk)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIGIL_WORKDIR", AGENT_COMMAND_ENV)
           and not k.startswith("PYTEST")}
    _run([sys.executable, "-m", "build", "--outdir", str(tmp / "dist"), str(src)], env)
    (wheel,) = (tmp / "dist").glob("vigil-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], env)
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], env)
    _run([str(py), "-m", "pip", "install", "-q", str(wheel)], env)  # its dependencies
    where = _run([str(py), "-c", "import engine; print(engine.__file__)"], env, cwd=tmp).stdout
    assert str(venv) in where and str(ROOT) not in where, where
    yield venv, env


def test_wheel_carries_the_policy_and_the_daemons_keep_each_other_alive(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    venv, env = installed
    vigil = str(venv / "bin" / "vigil")
    py = str(venv / "bin" / "python")
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / "vigil.toml").write_text(f'[serverd]\nport = {_free_port()}\nbind = "127.0.0.1"\n')
    seen: set[int] = set()
    try:
        cp = _run([vigil, "up", "-w", str(wd)], env, timeout=120, cwd=tmp_path)
        assert f"seeded {wd}/inputs/promises.cf" in cp.stdout
        for f in ("promises.cf", "lib/bodies.cf", "lib/keepalive.cf"):
            assert (wd / "inputs" / f).is_file(), f
        status = json.loads(subprocess.run(
            [vigil, "status", "--json", "-w", str(wd)], capture_output=True, text=True,
            timeout=60, env=env, check=False).stdout)
        states = {d["name"]: (d["state"], d["pid"]) for d in status["daemons"]}
        assert {n: s for n, (s, _) in states.items()} == dict.fromkeys(DAEMONS, "running")
        assert status["policy_ok"] is not False, status
        seen |= {pid for _, pid in states.values()}

        # monitord killed: the next agent run started by execd restarts it.
        old = int((wd / "monitord.pid").read_text())
        os.kill(old, signal.SIGKILL)
        _wait(lambda: not alive(old), 10, "monitord to die")
        ask = "import sys; from engine.commands.execd import request_run as r; sys.exit(not r(sys.argv[1]))"

        def restarted() -> int | None:
            _run([py, "-c", ask, str(wd)], env, timeout=60, cwd=tmp_path)
            try:
                new = int((wd / "monitord.pid").read_text())
            except (OSError, ValueError):
                new = 0
            if new and new != old and alive(new):
                return new
            time.sleep(3.0)
            return None

        new = _wait(restarted, 90, "the keep-alive policy to restart monitord")
        seen.add(int(new))  # type: ignore[arg-type]
        runs = list((wd / "outputs").glob("cf_*"))
        assert any("monitord was down and has been restarted" in p.read_text() for p in runs)

        # A deliberate stop holds: the watchdog leaves execd stopped.
        seen |= set(_ours(wd))
        cp = _run([vigil, "down", "-w", str(wd)], env, timeout=120, cwd=tmp_path)
        cp = _run([vigil, "watchdog", "-w", str(wd)], env, timeout=60, cwd=tmp_path)
        assert "stopped on purpose" in cp.stdout and "started" not in cp.stdout, cp.stdout
        status = json.loads(subprocess.run(
            [vigil, "status", "--json", "-w", str(wd)], capture_output=True, text=True,
            timeout=60, env=env, check=False).stdout)
        assert {d["name"]: d["state"] for d in status["daemons"]} == dict.fromkeys(DAEMONS, "stopped")
        _run([vigil, "down", "-w", str(wd)], env, timeout=120, cwd=tmp_path)
        assert [p for p in seen | set(_ours(wd)) if alive(p)] == []
    finally:
        for pid in _ours(wd):  # only processes naming this test's workdir
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
