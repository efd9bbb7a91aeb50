"""``--bootstrap`` without a remote hub: the hub bootstrapping to itself, the
arguments cf-agent refuses, and ``policy_server.dat`` read back on every run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engine.eval.policyhub import hub_context, split_host_port
from tests.cfengine import cf_env, requires_cfengine
from tests.engine.cfnet.conftest import vigil, vigil_workdir

MASTERFILES = Path("/usr/share/cfengine3/masterfiles")


@pytest.mark.parametrize(("text", "parts"), [
    ("10.1.2.3", ("10.1.2.3", None)),
    ("hub.example:5309", ("hub.example", "5309")),
    ("[::1]:6000", ("::1", "6000")),
    ("[fe80::1]", ("fe80::1", None)),
    ("fdff::1", ("fdff::1", None)),
])
def test_host_and_port(text: str, parts: tuple[str, str | None]) -> None:
    assert split_host_port(text) == parts


@pytest.mark.parametrize("text", ["", "hub:", "hub:x", "hub:70000", "[::1", "[::1]x", "a b"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        split_host_port(text)


def test_policy_server_dat_gives_sys_policy_hub(tmp_path: Path) -> None:
    assert hub_context(tmp_path) == (set(), {}, None)
    (tmp_path / "policy_server.dat").write_text("127.0.0.1:5309\n")
    assert hub_context(tmp_path) == (set(), {"policy_hub": "127.0.0.1", "policy_hub_port": "5309"},
                                     None)
    (tmp_path / "policy_server.dat").write_text("localhost")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "am_policy_hub").touch()
    classes, variables, error = hub_context(tmp_path)
    assert classes == {"am_policy_hub", "policy_server"} and error is None
    assert variables["policy_hub_port"] == "5308" and variables["policy_hub"] in ("127.0.0.1", "::1")
    (tmp_path / "policy_server.dat").write_text("no-such-host.invalid")
    classes, variables, error = hub_context(tmp_path)
    assert error == "Unable to resolve policy server host: no-such-host.invalid"
    assert "policy_hub" not in variables


def test_trust_server_only_with_bootstrap(tmp_path: Path) -> None:
    r = vigil(tmp_path / "wd", "agent", "--trust-server=no")
    assert r.returncode == 1
    assert "Option --trust-server can only be used when bootstrapping" in r.stdout + r.stderr


def test_refused_arguments(tmp_path: Path) -> None:
    wd = vigil_workdir(tmp_path / "wd")
    r = vigil(wd, "agent", "-B", ":avahi")
    assert r.returncode == 1 and "':avahi') is not supported by vigil" in r.stdout, r.stdout
    r = vigil(wd, "agent", "-n", "-B", "127.0.0.1")
    assert r.returncode == 1 and "it cannot be a dry run" in r.stdout, r.stdout
    r = vigil(wd, "agent", "-B", "hub:99999")
    assert r.returncode == 1 and "Cannot bootstrap to 'hub:99999': bad port" in r.stdout, r.stdout
    assert not (wd / "policy_server.dat").exists() and not (wd / "inputs").exists()


def test_unresolvable_hub_and_missing_key(tmp_path: Path) -> None:
    r = vigil(tmp_path / "nokey", "agent", "-B", "127.0.0.1")
    assert r.returncode == 1 and "please create one by running 'vigil key'" in r.stdout, r.stdout
    wd = vigil_workdir(tmp_path / "wd")
    r = vigil(wd, "agent", "-B", "no-such-host.invalid")
    assert r.returncode == 1
    assert "Could not resolve hostname 'no-such-host.invalid', unable to bootstrap" in r.stdout
    assert not (wd / "policy_server.dat").exists()


@pytest.mark.skipif(not (MASTERFILES / "promises.cf").is_file(),
                    reason="Debian's masterfiles are not installed")
def test_bootstrap_to_itself_makes_the_hub(tmp_path: Path) -> None:
    wd = vigil_workdir(tmp_path / "hub")
    shutil.copytree(MASTERFILES, wd / "masterfiles")
    (wd / "inputs").mkdir()
    (wd / "inputs" / "stale.cf").write_text("# removed by the bootstrap\n")
    r = vigil(wd, "agent", "-B", "127.0.0.1", "--skip-bootstrap-service-start", timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "warning: Bootstrapping to loopback interface (localhost)" in out
    assert "R: This host assumes the role of policy server" in out
    assert "R: Updated local policy from policy server" in out
    assert "notice: Bootstrap to '127.0.0.1' completed successfully!" in out
    assert "Trusting new key" not in out and "implicitly trusting" not in out
    assert (wd / "state" / "am_policy_hub").stat().st_mode & 0o777 == 0o600
    assert (wd / "policy_server.dat").read_text() == "127.0.0.1\n"
    assert (wd / "inputs" / "promises.cf").read_bytes() == (MASTERFILES / "promises.cf").read_bytes()
    assert not (wd / "inputs" / "stale.cf").exists()
    check = tmp_path / "hub.cf"
    check.write_text('bundle agent main { reports: am_policy_hub.policy_server:: "hub $(sys.policy_hub)"; }\n')
    assert "R: hub 127.0.0.1" in vigil(wd, "agent", "-K", "-f", str(check)).stdout
    # without masterfiles, this host's address means another server here (cf-agent would
    # stop); nothing listens on that port: the workdir stays bootstrapped as it was
    shutil.rmtree(wd / "masterfiles")
    r = vigil(wd, "agent", "-B", "127.0.0.1:1", "--skip-bootstrap-service-start")
    assert r.returncode == 1, r.stdout
    assert "does not exist: bootstrapping to the server on port 1 here as a client" in r.stdout
    assert "this workdir was not changed" in r.stdout
    assert (wd / "policy_server.dat").read_text() == "127.0.0.1\n"
    assert (wd / "state" / "am_policy_hub").exists()


def test_a_list_given_to_a_body_splices_where_it_stands_alone(tmp_path: Path) -> None:
    """The stock update policy's ``servers => { "$(server)" }`` with ``@(policy_servers)``."""
    policy = tmp_path / "p.cf"
    policy.write_text("""body common control { bundlesequence => { "main" }; }
bundle agent main {
  vars: "l" slist => { "a", "b" };
  commands: "/bin/true" classes => c(@(l));
  reports: a.b:: "spliced";
}
body classes c(x) { promise_repaired => { "$(x)" }; }
""")
    r = vigil(tmp_path / "wd", "agent", "-K", "-f", str(policy))
    assert "R: spliced" in r.stdout, r.stdout + r.stderr


@requires_cfengine
def test_release_id_is_cf_promises_one(tmp_path: Path) -> None:
    import json
    import subprocess

    from engine.eval.hubtag import release_id

    tree = tmp_path / "masterfiles"
    (tree / "sub").mkdir(parents=True)
    (tree / "promises.cf").write_text('bundle agent main { reports: "x"; }\n')
    for name, size in (("a.conf", 100), ("b.dat", 1000), ("c.bin", 7), ("d.json", 30),
                       ("e.mustache", 12), (".hidden.cf", 3), ("sub/s.cf", 3000)):
        (tree / name).write_bytes(b"x" * size)
    (tree / "link.cf").symlink_to("promises.cf")
    wd = tmp_path / "cf"
    (wd / "inputs").mkdir(parents=True)
    subprocess.run(["cf-promises", "-T", str(tree)], check=True, capture_output=True, timeout=60,
                   env=cf_env(wd))
    want = json.loads((tree / "cf_promises_release_id").read_text())["releaseId"]
    assert release_id(tree) == want


@pytest.mark.skipif(not (MASTERFILES / "promises.cf").is_file(),
                    reason="Debian's masterfiles are not installed")
def test_the_hub_restamps_masterfiles_only_when_inputs_are_newer(tmp_path: Path) -> None:
    import json

    wd = vigil_workdir(tmp_path / "hub")
    shutil.copytree(MASTERFILES, wd / "masterfiles")
    r = vigil(wd, "agent", "-B", "127.0.0.1", "--skip-bootstrap-service-start",
              "--skip-bootstrap-policy-run", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    stamp = wd / "masterfiles" / "cf_promises_validated"
    stamp.write_text('{\n "timestamp": 1234,\n}\n')  # CFEngine reads a trailing comma
    assert vigil(wd, "agent", "-K", timeout=300).returncode == 0
    first = json.loads(stamp.read_text())["timestamp"]
    assert first > 1234 and (wd / "masterfiles" / "cf_promises_release_id").exists()
    # a stamp newer than every input is left alone (one in the future is not: cf-agent
    # takes that for a clock that jumped)
    import time

    old = time.time() - 7200
    for f in (wd / "inputs").rglob("*"):
        os.utime(f, (old, old), follow_symlinks=False)
    os.utime(wd / "inputs", (old, old))
    stamp.write_text(json.dumps({"timestamp": int(old) + 3600}))
    vigil(wd, "agent", "-K", timeout=300)
    assert json.loads(stamp.read_text())["timestamp"] == int(old) + 3600
