"""A cf-agent host whose key changed (reinstalled, or another host at its address) is
refused by vigil's serverd with a message that says so, and its new key waits as
pending, marked as a change, until an admin accepts it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from engine.cfnet.rsakey import host_digest
from tests.engine.cfnet.conftest import cf_env, cf_workdir, needs_cfengine, vigil

pytestmark = needs_cfengine


def _copy(cfwd: Path, port: int, source: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    policy = cfwd / "copy.cf"
    policy.write_text(f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ files: "{dest}" copy_from => remote; }}
body copy_from remote {{ servers => {{ "127.0.0.1" }}; portnumber => "{port}";
  source => "{source}"; compare => "digest"; }}
""")
    return subprocess.run(["cf-agent", "-KI", "-f", str(policy)], env=cf_env(cfwd),
                          capture_output=True, text=True, timeout=120)


def test_a_client_whose_key_changed_is_refused_and_says_so(vigil_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("content\n")
    srv = vigil_serverd("hub", [str(share)], trust="")  # no trustkeysfrom: keys must be trusted
    cfwd = cf_workdir(tmp_path / "cf")
    server_key = f"root-{host_digest(srv.wd / 'ppkeys')}.pub"
    shutil.copy(srv.wd / "ppkeys" / "localhost.pub", cfwd / "ppkeys" / server_key)
    old = host_digest(cfwd / "ppkeys")
    shutil.copy(cfwd / "ppkeys" / "localhost.pub", srv.wd / "ppkeys" / f"root-{old}.pub")
    first = _copy(cfwd, srv.port, share / "f", tmp_path / "one")
    assert (tmp_path / "one").read_text() == "content\n", first.stdout + srv.log[-3000:]

    for name in ("localhost.priv", "localhost.pub"):  # the host is reinstalled
        (cfwd / "ppkeys" / name).unlink()
    subprocess.run(["cf-key"], env=cf_env(cfwd), check=True, capture_output=True, timeout=60)
    new = host_digest(cfwd / "ppkeys")
    assert new != old
    second = _copy(cfwd, srv.port, share / "f", tmp_path / "two")
    assert not (tmp_path / "two").exists(), second.stdout
    line = srv.wait_for(r"TRUST FAILED.*KEY CHANGED.*").group(0)
    assert new in line and old in line and "127.0.0.1 was last seen" in line
    listing = vigil(srv.wd, "key", "--list").stdout
    assert any(new in ln and "pending" in ln and f"(was {old})" in ln for ln in listing.splitlines()), listing
