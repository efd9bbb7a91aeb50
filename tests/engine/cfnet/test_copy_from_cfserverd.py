"""vigil agent's copy_from against a real cf-serverd: digest compare, purge, encrypt,
trustkey, untrusted and changed keys."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.engine.cfnet.conftest import cf_env, needs_cfengine, vigil, vigil_workdir

pytestmark = needs_cfengine


def _policy(tmp: Path, server: str, source: str, dest: str, attrs: str) -> Path:
    p = tmp / "copy.cf"
    p.write_text(f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{
  files:
    "{dest}"
      copy_from => remote("{server}", "{source}"),
      depth_search => all;
}}
body copy_from remote(server, source) {{
  servers => {{ "$(server)" }};
  source => "$(source)";
{attrs}
}}
body depth_search all {{ depth => "inf"; }}
""")
    return p


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_tree_copy_digest_purge_encrypt(cf_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    (share / "sub" / "deeper").mkdir(parents=True)
    (share / "a.txt").write_text("alpha\n")
    (share / "sub" / "b.txt").write_text("beta\n" * 2000)
    (share / "sub" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 40)
    srv = cf_serverd([str(share)])
    wd = vigil_workdir(tmp_path / "agent")
    dest = tmp_path / "dest"
    attrs = '  compare => "digest";\n  purge => "true";\n  encrypt => "true";\n  trustkey => "true";'
    pol = _policy(tmp_path, f"127.0.0.1:{srv.port}", str(share), str(dest), attrs)
    r = vigil(wd, "agent", "-KI", "-f", str(pol))
    assert r.returncode == 0, r.stdout + r.stderr
    assert _tree(dest) == _tree(share), r.stdout + r.stderr
    assert "Updated '" in r.stdout + r.stderr
    # our key is in cf-serverd's ppkeys (trustkeysfrom) and its key in ours (trustkey)
    assert list(srv.wd.joinpath("ppkeys").glob("root-MD5=*.pub"))
    assert list((wd / "ppkeys").glob("root-MD5=*.pub"))
    # second run: nothing to do; then a change, an extra local file purged
    r2 = vigil(wd, "agent", "-KI", "-f", str(pol))
    assert "Updated" not in r2.stdout + r2.stderr, r2.stdout + r2.stderr
    (share / "a.txt").write_text("ALPHA\n")  # same size: only the digest tells
    (dest / "stray").write_text("x")
    r3 = vigil(wd, "agent", "-KI", "-f", str(pol))
    assert r3.returncode == 0, r3.stdout + r3.stderr
    assert _tree(dest) == _tree(share), r3.stdout + r3.stderr
    assert "Purged" in r3.stdout + r3.stderr


@pytest.mark.slow
def test_untrusted_server_key_waits_as_pending_then_changed_key_is_refused(cf_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("x\n")
    srv = cf_serverd([str(share)])
    wd = vigil_workdir(tmp_path / "agent")
    pol = _policy(tmp_path, f"127.0.0.1:{srv.port}", str(share / "f"), str(tmp_path / "f"), "")
    r = vigil(wd, "agent", "-KI", "-f", str(pol))
    out = r.stdout + r.stderr
    assert "TRUST FAILED" in out and "untrusted key: MD5=" in out, out
    pending = list((wd / "ppkeys" / "pending").glob("MD5=*.pub"))
    assert len(pending) == 1 and not (tmp_path / "f").exists()
    accepted = vigil(wd, "key", "--accept", pending[0].name[:-4], "--yes")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    r = vigil(wd, "agent", "-KI", "-f", str(pol))
    assert (tmp_path / "f").read_text() == "x\n", r.stdout + r.stderr
    # the hub is reinstalled: new key, same address and port
    srv.stop()
    for k in srv.wd.joinpath("ppkeys").glob("localhost.*"):
        k.unlink()
    subprocess.run(["cf-key"], env=cf_env(srv.wd), check=True, capture_output=True)
    proc = subprocess.Popen(["cf-serverd", "-F"], env=cf_env(srv.wd), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    srv.proc = proc
    time.sleep(1.5)
    trusting = _policy(tmp_path, f"127.0.0.1:{srv.port}", str(share / "f"), str(tmp_path / "g"),
                       '  trustkey => "true";')
    r = vigil(wd, "agent", "-KI", "-f", str(trusting))
    out = r.stdout + r.stderr
    assert "the key changed" in out and not (tmp_path / "g").exists(), out
