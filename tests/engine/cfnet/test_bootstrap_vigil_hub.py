"""vigil as the hub: a vigil workdir bootstrapped to itself with Debian's masterfiles,
its serverd (the stock policy's grants) on a free port, and clients bootstrapping to
it: vigil's agent, and the real cf-agent 3.21.

cf-agent takes the hub's role for any address of this host, so it is sent to
127.0.0.2 (loopback, but not an address cf-agent counts as its own), where serverd
listens for this test. cf-agent checks that a cf-execd runs after its bootstrap: its
bin/ holds a stand-in that starts a sleeping process named cf-execd (ended by pid).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cfengine import make_workdir
from tests.engine.cfnet.conftest import (
    REPO,
    cf_env,
    free_port,
    needs_cfengine,
    vigil,
    vigil_workdir,
)
from tests.engine.cfnet.vigil_server import VigilServer

MASTERFILES = Path("/usr/share/cfengine3/masterfiles")
pytestmark = pytest.mark.skipif(not (MASTERFILES / "promises.cf").is_file(),
                                reason="Debian's masterfiles are not installed")


def _can_bind(address: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((address, 0))
        except OSError:
            return False
    return True


def _vigil_hub(wd: Path, bind: str) -> VigilServer:
    vigil_workdir(wd)
    shutil.copytree(MASTERFILES, wd / "masterfiles")
    r = vigil(wd, "agent", "-B", "127.0.0.1", "--skip-bootstrap-service-start", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (wd / "masterfiles" / "cf_promises_validated").exists()  # the hub tags its policy
    port = free_port()
    log = wd / "serverd.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "engine", "serverd", "-F", "-I", "-w",
                                 str(wd), "--port", str(port), "--bind", bind], cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT,
                                env=dict(os.environ, PYTHONPATH=str(REPO)))
    hub = VigilServer(wd, proc, log, port)
    try:
        hub.wait_for("listening on", timeout=30)
    except AssertionError:
        hub.stop()
        raise
    return hub


@pytest.fixture
def vigil_hub(tmp_path: Path) -> Iterator[object]:
    started: list[VigilServer] = []

    def start(bind: str = "127.0.0.1") -> VigilServer:
        hub = _vigil_hub(tmp_path / "hub", bind)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.stop()


def test_vigil_agent_bootstraps_to_vigil_serverd(vigil_hub, tmp_path: Path) -> None:
    hub = vigil_hub()
    wd = vigil_workdir(tmp_path / "agent")
    r = vigil(wd, "agent", "--bootstrap", f"127.0.0.1:{hub.port}", "--skip-bootstrap-service-start",
              timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out + hub.log
    assert f"Bootstrap to '127.0.0.1:{hub.port}' completed successfully!" in out
    assert "R: Triggered an initial run of the policy" in out
    for name in ("promises.cf", "update.cf", "cf_promises_validated"):
        assert (wd / "inputs" / name).read_bytes() == (hub.wd / "masterfiles" / name).read_bytes()
    r = vigil(wd, "agent", "-K", "-f", "update.cf", timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "refused" not in out and "No suitable server" not in out, out


@needs_cfengine
@pytest.mark.skipif(not _can_bind("127.0.0.2"), reason="127.0.0.2 is not usable here")
def test_cf_agent_bootstraps_to_vigil_serverd(vigil_hub, tmp_path: Path) -> None:
    hub = vigil_hub("127.0.0.2")
    wd = make_workdir(tmp_path / "cf-agent", keys="own", failsafe=None,
                      programs=("cf-agent", "cf-promises", "cf-key"))
    pids = wd / "stand-in.pids"
    (wd / "bin" / "cf-execd").write_text(
        f"#!/bin/bash\n(exec -a cf-execd sleep 60 </dev/null >/dev/null 2>&1) &\necho $! >> {pids}\n")
    for prog in ("cf-serverd", "cf-monitord"):
        (wd / "bin" / prog).write_text("#!/bin/sh\nexit 0\n")
    for prog in ("cf-execd", "cf-serverd", "cf-monitord"):
        (wd / "bin" / prog).chmod(0o755)
    try:
        r = subprocess.run(["cf-agent", "--bootstrap", f"127.0.0.2:{hub.port}",
                            "--skip-bootstrap-policy-run"], env=cf_env(wd), capture_output=True,
                           text=True, timeout=300)
    finally:
        with contextlib.suppress(OSError, ValueError):
            for pid in pids.read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGTERM)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out + hub.log
    assert f"Bootstrap to '127.0.0.2:{hub.port}' completed successfully!" in out, out
    assert "Trusting new key: MD5=" in out and "R: Updated local policy from policy server" in out
    for name in ("promises.cf", "update.cf", "lib/stdlib.cf"):
        assert (wd / "inputs" / name).read_bytes() == (hub.wd / "masterfiles" / name).read_bytes()
    assert "Trusting new key: MD5=" in hub.log  # the hub trusted cf-agent (trustkeysfrom)
