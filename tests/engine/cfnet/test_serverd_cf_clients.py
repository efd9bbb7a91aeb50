"""vigil's serverd answering CFEngine's clients: cf-agent's copy_from and cf-runagent,
pending keys, vigil's own protocol on the same port."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cfnet.rsakey import host_digest
from tests.engine.cfnet.conftest import (
    cf_env,
    cf_workdir,
    needs_cfengine,
    vigil,
    vigil_workdir,
)

pytestmark = needs_cfengine


def _cf_copy_policy(tmp: Path, port: int, source: Path, dest: Path, extra: str = "") -> Path:
    p = tmp / f"copy{len(extra)}.cf"
    p.write_text(f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{
  files:
    "{dest}/"
      copy_from => remote("{source}"),
      depth_search => all;
}}
body copy_from remote(source) {{
  servers => {{ "127.0.0.1" }};
  portnumber => "{port}";
  source => "$(source)";
  compare => "digest";
  trustkey => "true";
{extra}}}
body depth_search all {{ depth => "inf"; }}
""")
    return p


def _cf_agent(cfwd: Path, policy: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["cf-agent", "-KI", "-f", str(policy)], env=cf_env(cfwd),
                          capture_output=True, text=True, timeout=120)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_cf_agent_copies_a_tree_from_vigil_serverd(vigil_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    (share / "sub" / "deeper").mkdir(parents=True)
    (share / "a.txt").write_text("alpha\n")
    (share / "sub" / "b.txt").write_text("beta\n" * 3000)  # several GET blocks
    (share / "sub" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 40)
    (share / "empty").write_bytes(b"")
    (share / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    srv = vigil_serverd("hub", [str(share)])
    cfwd = cf_workdir(tmp_path / "cf")
    dest = tmp_path / "dest"
    pol = _cf_copy_policy(tmp_path, srv.port, share, dest)
    r = _cf_agent(cfwd, pol)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out + srv.log[-3000:]
    assert _tree(dest) == _tree(share), out + srv.log[-3000:]
    # each side trusts the other's RSA key now, in cf-key's files
    assert list((srv.wd / "ppkeys").glob("root-MD5=*.pub")), srv.log[-2000:]
    assert list((cfwd / "ppkeys").glob("root-MD5=*.pub"))
    assert "Trusting new key: MD5=" in srv.log
    # the same size, another content: only the digest (MD5 command) tells
    (share / "a.txt").write_text("ALPHA\n")
    r = _cf_agent(cfwd, pol)
    assert (dest / "a.txt").read_text() == "ALPHA\n", r.stdout + r.stderr + srv.log[-3000:]
    # a second agent on the same address, with its own key: trusted too (trustkeysfrom)
    cf2 = cf_workdir(tmp_path / "cf2")
    dest2 = tmp_path / "dest2"
    dest2.mkdir()
    (dest2 / "stray").write_text("not on the server\n")  # purged
    r = _cf_agent(cf2, _cf_copy_policy(tmp_path, srv.port, share, dest2,
                                       '  encrypt => "true";\n  purge => "true";\n'))
    assert _tree(dest2) == _tree(share), r.stdout + r.stderr + srv.log[-3000:]
    assert len(list((srv.wd / "ppkeys").glob("root-MD5=*.pub"))) == 2
    # serverd stays small: cryptography is never loaded, serving CFEngine clients too
    maps = Path(f"/proc/{srv.proc.pid}/maps").read_text()
    assert "/cryptography/" not in maps
    # lastseen, as cf-key reads it
    ls = subprocess.run(["cf-key", "-s"], env=cf_env(srv.wd), capture_output=True, text=True,
                        timeout=60)
    assert "127.0.0.1" in ls.stdout and "MD5=" in ls.stdout, ls.stdout + ls.stderr


@pytest.mark.slow
def test_untrusted_cf_agent_waits_as_pending_until_accepted(vigil_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("content\n")
    srv = vigil_serverd("hub", [str(share)], trust="")
    cfwd = cf_workdir(tmp_path / "cf")
    dest = tmp_path / "dest"
    pol = _cf_copy_policy(tmp_path, srv.port, share, dest)
    r = _cf_agent(cfwd, pol)
    assert not (dest / "f").exists(), r.stdout + r.stderr
    srv.wait_for(r"TRUST FAILED, peer presented an untrusted key")
    listing = vigil(srv.wd, "key", "--list")
    m = re.search(r"MD5=[0-9a-f]{32}", listing.stdout)
    assert m and "pending" in listing.stdout.lower(), listing.stdout + listing.stderr
    acc = vigil(srv.wd, "key", "--accept", m.group(0), "--yes")
    assert acc.returncode == 0, acc.stdout + acc.stderr
    r = _cf_agent(cfwd, pol)
    assert (dest / "f").read_text() == "content\n", r.stdout + r.stderr + srv.log[-3000:]


@pytest.mark.slow
def test_cf_runagent_runs_vigil_agent_through_vigil_serverd(vigil_serverd, tmp_path: Path) -> None:
    roles = '    "extra_class" authorize => { "root" };'
    srv = vigil_serverd("hub", [sys.executable, str(Path(sys.executable).resolve())], roles=roles)
    cfwd = cf_workdir(tmp_path / "cf")
    # cf-runagent trusts the server's key from its file, as 'cf-key -t' leaves it
    dig = host_digest(srv.wd / "ppkeys")
    shutil.copy(srv.wd / "ppkeys" / "localhost.pub", cfwd / "ppkeys" / f"root-{dig}.pub")
    shutil.copy(cfwd / "inputs" / "failsafe.cf", cfwd / "inputs" / "promises.cf")
    run = subprocess.run(["cf-runagent", "-H", f"127.0.0.1:{srv.port}"],
                         env=cf_env(cfwd), capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert "R: hello from vigil" in out, out + srv.log[-3000:]
    assert "extra is on" not in out
    run = subprocess.run(["cf-runagent", "-H", f"127.0.0.1:{srv.port}", "-D", "extra_class"],
                         env=cf_env(cfwd), capture_output=True, text=True, timeout=120)
    assert "R: extra is on" in run.stdout + run.stderr, run.stdout + run.stderr + srv.log[-3000:]
    run = subprocess.run(["cf-runagent", "-H", f"127.0.0.1:{srv.port}", "-s", "nosuchclass"],
                         env=cf_env(cfwd), capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert "nothing relevant to do here" in out and "hello from vigil" not in out, out
    run = subprocess.run(["cf-runagent", "-H", f"127.0.0.1:{srv.port}", "-D", "other"],
                         env=cf_env(cfwd), capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert "EXEC denied role activation" in out and "hello from vigil" not in out, out
    # vigil's runagent on a named port speaks CFEngine's protocol to it as well
    me = vigil_workdir(tmp_path / "me")
    r = vigil(me, "runagent", "-i", f"127.0.0.1:{srv.port}", stdin="yes\n")
    # (the reports ran a moment ago: locked now, as cf-agent's would be)
    assert "127.0.0.1> cf-serverd executing cfruncommand: " in r.stdout, r.stdout + r.stderr
    assert "127.0.0.1> (exit code: 0)" in r.stdout, r.stdout + r.stderr + srv.log[-2000:]


@pytest.mark.slow
def test_vigil_protocol_still_served_on_the_same_port(vigil_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("vigil\n")
    srv = vigil_serverd("hub", [str(share)])
    me = vigil_workdir(tmp_path / "me")
    pol = tmp_path / "v.cf"
    pol.write_text(f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ files: "{tmp_path}/out" copy_from => c; }}
body copy_from c {{ servers => {{ "127.0.0.1:{srv.port}" }}; source => "{share}/f";
  trustkey => "true"; compare => "digest"; }}
""")
    r = vigil(me, "agent", "-KI", "-f", str(pol))  # a named port: CFEngine's protocol first
    assert (tmp_path / "out").read_text() == "vigil\n", r.stdout + r.stderr + srv.log[-3000:]
    # vigil's own protocol (Ed25519 keys, named by SNI) on the very same port
    from engine.trust.client import copy_from_remote

    res = copy_from_remote(me, f"127.0.0.1:{srv.port}", str(share / "f"), tmp_path / "out2",
                           "digest", trustkey=True)
    assert res.changed and (tmp_path / "out2").read_text() == "vigil\n"
    assert "TRUST FAILED" not in srv.log
