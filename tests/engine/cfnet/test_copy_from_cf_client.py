"""vigil agent's copy_from against real cf-serverd, as cf-agent copies: a sparse source
stays sparse, ``missing_ok`` keeps the promise for a source the server does not have,
each server of ``servers`` is tried in turn, and the TLS cipher list is OpenSSL's
default unless ``tls_ciphers`` names another (as in CFEngine's serial server tests)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.engine.cfnet.conftest import needs_cfengine, vigil, vigil_workdir

pytestmark = needs_cfengine


def _policy(tmp: Path, servers: list[str], source: str, dest: str, attrs: str = "",
            control: str = "") -> Path:
    p = tmp / "copy.cf"
    names = ", ".join(f'"{s}"' for s in servers)
    p.write_text(f"""body common control {{ bundlesequence => {{ "main" }}; {control} }}
bundle agent main {{
  files:
    "{dest}" copy_from => remote("{source}");
}}
body copy_from remote(source) {{
  servers => {{ {names} }};
  source => "$(source)";
  trustkey => "true";
  compare => "digest";
{attrs}
}}
""")
    return p


def test_a_sparse_source_is_copied_sparse(cf_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    src = share / "sparse"
    with open(src, "wb") as f:
        f.write(b"head")
        f.truncate(4 << 20)  # 4 MiB, all but the first block a hole
    srv = cf_serverd([str(share)])
    wd = vigil_workdir(tmp_path / "agent")
    dest = tmp_path / "dest"
    r = vigil(wd, "agent", "-KI", "-f",
              str(_policy(tmp_path, [f"127.0.0.1:{srv.port}"], str(src), str(dest))))
    out = r.stdout + r.stderr
    assert dest.read_bytes() == src.read_bytes(), out
    st = os.stat(dest)
    assert st.st_blocks * 512 < st.st_size // 4, (st.st_blocks, st.st_size, out)


def test_missing_ok_keeps_the_promise_for_an_absent_source(cf_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    srv = cf_serverd([str(share)])
    wd = vigil_workdir(tmp_path / "agent")
    dest = tmp_path / "dest"
    pol = _policy(tmp_path, [f"127.0.0.1:{srv.port}"], str(share / "nodir" / "absent"),
                  str(dest), '  missing_ok => "true";')
    r = vigil(wd, "agent", "-KI", "-f", str(pol))
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "error:" not in out, out
    assert not dest.exists()


def test_each_server_is_tried_in_turn(cf_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("from the second server\n")
    refusing = cf_serverd([str(share)], name="refusing", extra='  denyconnects => { "127.0.0.1" };\n')
    good = cf_serverd([str(share)], name="good")
    wd = vigil_workdir(tmp_path / "agent")
    dest = tmp_path / "dest"
    pol = _policy(tmp_path, [f"127.0.0.1:{refusing.port}", f"127.0.0.1:{good.port}"],
                  str(share / "f"), str(dest))
    r = vigil(wd, "agent", "-KI", "-f", str(pol))
    out = r.stdout + r.stderr
    assert dest.read_text() == "from the second server\n", out
    assert "No suitable server found" not in out, out


def test_cipher_list_is_openssl_default_unless_tls_ciphers_says(cf_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("over RSA key exchange\n")
    # a server that only takes a cipher outside Python's default list (no TLS 1.3 either)
    srv = cf_serverd([str(share)], extra='  allowciphers => "AES128-GCM-SHA256";\n'
                     '  allowtlsversion => "1.1";\n')
    wd = vigil_workdir(tmp_path / "agent")
    dest = tmp_path / "dest"
    server = [f"127.0.0.1:{srv.port}"]
    r = vigil(wd, "agent", "-KI", "-f", str(_policy(tmp_path, server, str(share / "f"), str(dest))))
    assert dest.read_text() == "over RSA key exchange\n", r.stdout + r.stderr
    dest.unlink()
    pol = _policy(tmp_path, server, str(share / "f"), str(dest),
                  control='tls_ciphers => "AES128-SHA";')
    r = vigil(wd, "agent", "-KI", "-f", str(pol))
    out = r.stdout + r.stderr
    assert not dest.exists() and "No suitable server found" in out, out


def test_classic_protocol_is_named_as_not_spoken(cf_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("over TLS\n")
    srv = cf_serverd([str(share)])
    wd = vigil_workdir(tmp_path / "agent")
    dest = tmp_path / "dest"
    pol = _policy(tmp_path, [f"127.0.0.1:{srv.port}"], str(share / "f"), str(dest),
                  '  protocol_version => "classic";')
    r = vigil(wd, "agent", "-KI", "-f", str(pol))
    out = r.stdout + r.stderr
    assert f"error: {pol}:4: protocol_version 'classic'" in out, out
    assert dest.read_text() == "over TLS\n", out
