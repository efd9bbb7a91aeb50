"""roles: promises, compared: cf-runagent asks cf-serverd and vigil's serverd, each
with the same roles, to run their agent with a class it may define (-D) and with one
it may not; both must run, define and refuse alike."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cfnet.rsakey import host_digest
from tests.cfengine import CF_AGENT
from tests.engine.cfnet.conftest import CfServer, cf_env, cf_workdir, free_port, needs_cfengine

pytestmark = needs_cfengine

ROLES = '    "extra_class" authorize => { "root" };'
AGENT = str(CF_AGENT)  # the installed program (the module is skipped without it)


def _cf_hub_policy(wd: Path, port: int) -> str:
    """What cf-serverd reads; its cfruncommand runs cf-agent on the same file, with
    locks, as vigil's serverd runs its agent (so a report made by one run is locked
    for the next in both)."""
    return f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ reports: "hello from the hub"; extra_class:: "extra is on"; }}
body server control {{
  port => "{port}";
  allowconnects => {{ "127.0.0.1" }};
  allowallconnects => {{ "127.0.0.1" }};
  trustkeysfrom => {{ "127.0.0.1" }};
  allowusers => {{ "root" }};
  cfruncommand => "{AGENT} -I -f {wd}/inputs/promises.cf";
}}
bundle server access_rules {{
  access:
    "{AGENT}" admit => {{ "127.0.0.1" }};
  roles:
{ROLES}
}}
"""


def _client(tmp_path: Path, server_wd: Path) -> Path:
    """A cf-runagent workdir that trusts the server's key, as 'cf-key -t' leaves it."""
    cfwd = cf_workdir(tmp_path)
    dig = host_digest(server_wd / "ppkeys")
    shutil.copy(server_wd / "ppkeys" / "localhost.pub", cfwd / "ppkeys" / f"root-{dig}.pub")
    shutil.copy(cfwd / "inputs" / "failsafe.cf", cfwd / "inputs" / "promises.cf")
    return cfwd


def _outcomes(cfwd: Path, port: int) -> dict[str, tuple[bool, bool, bool]]:
    """For each cf-runagent call: (the agent ran, it had the class, activation denied)."""
    out = {}
    for name, extra in (("plain", ()), ("allowed", ("-D", "extra_class")),
                        ("refused", ("-D", "other"))):
        run = subprocess.run(["cf-runagent", "-H", f"127.0.0.1:{port}", *extra],
                             env=cf_env(cfwd), capture_output=True, text=True, timeout=120)
        text = run.stdout + run.stderr
        out[name] = ("hello from" in text, "extra is on" in text,
                     "denied role activation" in text)
    return out


def _start_cf_serverd(wd: Path) -> CfServer:
    """cf-serverd on the roles policy, in a workdir of its own, on a free port."""
    cf_workdir(wd)
    port = free_port()
    (wd / "inputs" / "promises.cf").write_text(_cf_hub_policy(wd, port))
    with open(wd / "serverd.log", "wb") as log:
        proc = subprocess.Popen(["cf-serverd", "-F", "-v"], env=cf_env(wd), stdout=log,
                                stderr=subprocess.STDOUT)
    srv = CfServer(wd, port, proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return srv
        time.sleep(0.1)
    srv.stop()
    raise AssertionError(f"cf-serverd did not start:\n{srv.log[-3000:]}")


@pytest.mark.slow
def test_roles_as_cf_serverd(vigil_serverd, tmp_path: Path) -> None:
    srv = _start_cf_serverd(tmp_path / "cfhub")
    try:
        theirs = _outcomes(_client(tmp_path / "cfclient", srv.wd), srv.port)
    finally:
        srv.stop()
    vsrv = vigil_serverd("vhub", [sys.executable, str(Path(sys.executable).resolve())],
                         roles=ROLES)
    ours = _outcomes(_client(tmp_path / "vclient", vsrv.wd), vsrv.port)
    # the second run's hello is locked by the first's
    assert theirs == {"plain": (True, False, False), "allowed": (False, True, False),
                      "refused": (False, False, True)}, srv.log[-3000:]
    assert ours == theirs, vsrv.log[-3000:]
