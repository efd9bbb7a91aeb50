"""``vigil agent --bootstrap`` against a real cf-serverd serving Debian's masterfiles.

The hub is a CFEngine workdir whose ``masterfiles/`` is a copy of Debian's, tagged by
``cf-promises -T`` as a hub tags it, with a ``def.json`` telling the update policy
where the hub keeps them (clients and hub do not share ``/var/cfengine`` here), served
by cf-serverd on a free port: the stock policy's grants (the ``masterfiles`` and
``modules`` shortcuts, new keys trusted from 127.0.0.1) in a small policy of the test's
own, since the stock one would listen on 5308.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cfengine import make_workdir
from tests.engine.cfnet.conftest import (
    CfServer,
    cf_env,
    cf_workdir,
    free_port,
    needs_cfengine,
    vigil,
    vigil_workdir,
)

MASTERFILES = Path("/usr/share/cfengine3/masterfiles")
needs_masterfiles = pytest.mark.skipif(not (MASTERFILES / "promises.cf").is_file(),
                                       reason="Debian's masterfiles are not installed")


def _hub_policy(wd: Path, port: int, trust: bool, share: bool = True,
                allow: str = "127.0.0.1") -> str:
    trusted = '  trustkeysfrom => { "127.0.0.1" };\n' if trust else ""
    shared = "masterfiles" if share else "nothing"
    return f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ }}
body server control {{
  port => "{port}";
  allowconnects => {{ "{allow}" }};
  allowallconnects => {{ "{allow}" }};
{trusted}}}
bundle server hub_grants {{
  access:
    "{wd}/{shared}/" shortcut => "masterfiles", admit => {{ "127.0.0.1" }};
    "{wd}/modules/" shortcut => "modules", admit => {{ "127.0.0.1" }};
}}
"""


def _serve(srv: CfServer) -> CfServer:
    with open(srv.wd / "serverd.log", "ab") as log:
        srv.proc = subprocess.Popen(["cf-serverd", "-F", "-v"], env=cf_env(srv.wd), stdout=log,
                                    stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", srv.port), 0.2):
            return srv
        if srv.proc.poll() is not None:
            break
        time.sleep(0.1)
    srv.stop()
    raise AssertionError(f"cf-serverd did not start:\n{srv.log[-3000:]}")


def start_hub(wd: Path, trust: bool = True, share: bool = True,
              allow: str = "127.0.0.1") -> CfServer:
    cf_workdir(wd)
    shutil.copytree(MASTERFILES, wd / "masterfiles")
    (wd / "masterfiles" / "def.json").write_text(json.dumps(
        {"vars": {"mpf_update_policy_master_location": f"{wd}/masterfiles"}}))
    (wd / "modules").mkdir(exist_ok=True)
    subprocess.run(["cf-promises", "-T", str(wd / "masterfiles")], env=cf_env(wd), check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    (wd / "inputs" / "promises.cf").write_text(_hub_policy(wd, port, trust, share, allow))
    return _serve(CfServer(wd, port, None))  # type: ignore[arg-type]  # set by _serve


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[CfServer]:
    srv = start_hub(tmp_path / "hub")
    yield srv
    srv.stop()


def _digest(wd: Path) -> str:
    r = subprocess.run(["cf-key", "-p", str(wd / "ppkeys" / "localhost.pub")], env=cf_env(wd),
                       capture_output=True, text=True, timeout=60)
    return r.stdout.strip()


def _stop_execd(wd: Path) -> None:
    """End the scheduler the bootstrap started, by its pid."""
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        pid = int((wd / "execd.pid").read_text().split()[0])
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)


def _untouched(wd: Path) -> None:
    assert not (wd / "policy_server.dat").exists()
    assert not (wd / "inputs").exists() or not any((wd / "inputs").iterdir())


pytestmark = [needs_cfengine, needs_masterfiles]


def test_bootstrap_fetches_the_hubs_masterfiles_and_runs_them(hub: CfServer, tmp_path: Path) -> None:
    wd = vigil_workdir(tmp_path / "agent")
    try:
        r = vigil(wd, "agent", "--bootstrap", f"127.0.0.1:{hub.port}", timeout=300)
    finally:
        _stop_execd(wd)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert f"notice: Bootstrap to '127.0.0.1:{hub.port}' completed successfully!" in r.stdout, out
    assert "Bootstrap mode: implicitly trusting server" in out
    assert f"notice: Trusting new key: {_digest(hub.wd)}" in out
    for line in ("R: This autonomous node assumes the role of voluntary client",
                 "R: Updated local policy from policy server",
                 "R: Triggered an initial run of the policy", "R: Started the scheduler"):
        assert line in out, out
    for name in ("promises.cf", "update.cf", "lib/stdlib.cf", "controls/def.cf",
                 "cf_promises_validated"):
        assert (wd / "inputs" / name).read_bytes() == (hub.wd / "masterfiles" / name).read_bytes()
    assert (wd / "inputs" / "failsafe.cf").stat().st_mode & 0o777 == 0o600
    assert (wd / "policy_server.dat").read_text() == f"127.0.0.1:{hub.port}\n"
    assert not (wd / "state" / "am_policy_hub").exists()
    # each side trusts the other now: the hub's key here, ours there (trustkeysfrom)
    assert (wd / "ppkeys" / f"root-{_digest(hub.wd)}.pub").exists()
    assert (hub.wd / "ppkeys" / f"root-{_digest(wd)}.pub").exists()
    # later runs know their hub, as cf-agent's do
    check = tmp_path / "hub.cf"
    check.write_text('bundle agent main { reports: "hub $(sys.policy_hub) $(sys.policy_hub_port)";'
                     ' policy_server:: "is the hub"; }\n')
    r = vigil(wd, "agent", "-K", "-f", str(check))
    assert f"R: hub 127.0.0.1 {hub.port}" in r.stdout and "is the hub" not in r.stdout, r.stdout
    # and the stock update policy fetches from it without complaint
    r = vigil(wd, "agent", "-K", "-f", "update.cf", timeout=300)
    assert r.returncode == 0 and "No suitable server" not in r.stdout + r.stderr, r.stdout


def test_a_hub_whose_key_changed_is_refused(hub: CfServer, tmp_path: Path) -> None:
    wd = vigil_workdir(tmp_path / "agent")
    r = vigil(wd, "agent", "-B", f"127.0.0.1:{hub.port}", "--skip-bootstrap-service-start",
              timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    old = _digest(hub.wd)
    # the hub is reinstalled: a new key on the same address and port
    hub.stop()
    for k in hub.wd.joinpath("ppkeys").glob("localhost.*"):
        k.unlink()
    subprocess.run(["cf-key"], env=cf_env(hub.wd), check=True, capture_output=True, timeout=60)
    _serve(hub)
    new = _digest(hub.wd)
    assert new != old
    before = sorted(p.name for p in (wd / "inputs").iterdir())
    r = vigil(wd, "agent", "-B", f"127.0.0.1:{hub.port}", "--skip-bootstrap-service-start")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"presented the key {new}, but this host trusts it with {old}" in out, out
    assert "the hub's key changed" in out and "Refusing to bootstrap" in out, out
    assert "completed successfully" not in out
    # nothing changed: the old hub, its policy, its key
    assert (wd / "policy_server.dat").read_text() == f"127.0.0.1:{hub.port}\n"
    assert sorted(p.name for p in (wd / "inputs").iterdir()) == before
    assert not (wd / "ppkeys" / f"root-{new}.pub").exists()
    # the admin compares the digest with the hub's and accepts it: the bootstrap goes through
    accepted = vigil(wd, "key", "--accept", new, "--yes")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    r = vigil(wd, "agent", "-B", f"127.0.0.1:{hub.port}", "--skip-bootstrap-service-start",
              "--skip-bootstrap-policy-run")
    assert r.returncode == 0 and "completed successfully" in r.stdout, r.stdout + r.stderr


def test_trust_server_no_needs_the_hubs_key_trusted_first(hub: CfServer, tmp_path: Path) -> None:
    wd = vigil_workdir(tmp_path / "agent")
    r = vigil(wd, "agent", "-B", f"127.0.0.1:{hub.port}", "--trust-server=no",
              "--skip-bootstrap-service-start", "--skip-bootstrap-policy-run")
    out = r.stdout + r.stderr
    digest = _digest(hub.wd)
    assert r.returncode == 1, out
    assert f"presented the key {digest}, which this host does not trust, and --trust-server=no" \
        in out, out
    assert "implicitly trusting" not in out
    _untouched(wd)
    accepted = vigil(wd, "key", "--accept", digest, "--yes")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    r = vigil(wd, "agent", "-B", f"127.0.0.1:{hub.port}", "--trust-server=no",
              "--skip-bootstrap-service-start", "--skip-bootstrap-policy-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Triggered" not in r.stdout and (wd / "inputs" / "promises.cf").exists()


def test_a_hub_that_does_not_trust_us_says_so(tmp_path: Path) -> None:
    srv = start_hub(tmp_path / "hub", trust=False)
    try:
        wd = vigil_workdir(tmp_path / "agent")
        r = vigil(wd, "agent", "-B", f"127.0.0.1:{srv.port}", "--skip-bootstrap-service-start")
    finally:
        srv.stop()
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "does not accept this host" in out and _digest(wd) in out, out
    _untouched(wd)


def test_a_hub_that_refuses_our_address_says_so(tmp_path: Path) -> None:
    srv = start_hub(tmp_path / "hub", allow="192.0.2.200")
    try:
        wd = vigil_workdir(tmp_path / "agent")
        r = vigil(wd, "agent", "-B", f"127.0.0.1:{srv.port}", "--skip-bootstrap-service-start")
    finally:
        srv.stop()
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"Failed to establish TLS connection to '127.0.0.1:{srv.port}'" in out, out
    assert "allowconnects" in out and "this workdir was not changed" in out, out
    _untouched(wd)


def test_no_hub_listening_leaves_the_workdir_alone(tmp_path: Path) -> None:
    wd = vigil_workdir(tmp_path / "agent")
    port = free_port()
    r = vigil(wd, "agent", "--bootstrap", f"127.0.0.1:{port}")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"Unable to establish connection to '127.0.0.1:{port}'" in out, out
    assert "this workdir was not changed" in out
    _untouched(wd)


def test_a_hub_that_shares_no_policy_fails_the_bootstrap(tmp_path: Path) -> None:
    srv = start_hub(tmp_path / "hub", share=False)
    try:
        wd = vigil_workdir(tmp_path / "agent")
        r = vigil(wd, "agent", "-B", f"127.0.0.1:{srv.port}", timeout=300)
    finally:
        srv.stop()
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"R: Failed to copy policy from policy server at 127.0.0.1 port {srv.port}" in out, out
    assert f"error: Bootstrapping failed, no input file at '{wd}/inputs/promises.cf' after " \
        "bootstrap" in out, out
    assert "Triggered" not in out and "Started the scheduler" not in out
    assert not (wd / "policy_server.dat").exists() and not (wd / "execd.pid").exists()


def _cf_agent_workdir(wd: Path) -> Path:
    """A cf-agent workdir whose bin/ starts no real daemon: its cf-execd is a sleeping
    stand-in (its pid noted for the test to end it), cf-serverd/cf-monitord do nothing."""
    make_workdir(wd, keys="own", failsafe=None, programs=("cf-agent", "cf-promises", "cf-key"))
    (wd / "bin" / "cf-execd").write_text(
        "#!/bin/bash\n(exec -a cf-execd sleep 60 </dev/null >/dev/null 2>&1) &\n"
        f"echo $! >> {wd / 'stand-in.pids'}\n")
    for prog in ("cf-serverd", "cf-monitord"):
        (wd / "bin" / prog).write_text("#!/bin/sh\nexit 0\n")
    for prog in ("cf-execd", "cf-serverd", "cf-monitord"):
        (wd / "bin" / prog).chmod(0o755)
    return wd


def _end_stand_ins(wd: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        for pid in (wd / "stand-in.pids").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)


def _said(out: str, wd: Path) -> list[str]:
    return sorted(line.strip().replace(str(wd), "WD") for line in out.splitlines()
                  if line.startswith("R: ") or "notice: " in line)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and not p.name.endswith(".cfsaved")}


def test_same_bootstrap_as_cf_agent(hub: CfServer, tmp_path: Path) -> None:
    """Both agents bootstrap to the same hub (at 127.0.0.2, which cf-agent does not
    count as its own address, so it is a client too) and end the same way."""
    target = f"127.0.0.2:{hub.port}"
    cf = _cf_agent_workdir(tmp_path / "cf-agent")
    try:
        want = subprocess.run(["cf-agent", "--bootstrap", target, "--skip-bootstrap-policy-run"],
                              env=cf_env(cf), capture_output=True, text=True, timeout=300)
    finally:
        _end_stand_ins(cf)
    assert want.returncode == 0, want.stdout + want.stderr
    wd = vigil_workdir(tmp_path / "vigil")
    try:
        got = vigil(wd, "agent", "--bootstrap", target, "--skip-bootstrap-policy-run", timeout=300)
    finally:
        _stop_execd(wd)
    assert got.returncode == 0, got.stdout + got.stderr
    assert _said(got.stdout, wd) == _said(want.stdout, cf)
    assert (wd / "policy_server.dat").read_bytes() == (cf / "policy_server.dat").read_bytes()
    assert _files(wd / "inputs") == _files(cf / "inputs")
    key = f"root-{_digest(hub.wd)}.pub"
    assert (wd / "ppkeys" / key).read_bytes() == (cf / "ppkeys" / key).read_bytes()
