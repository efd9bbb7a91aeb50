"""serverd's memory: no ``cryptography`` in the process, no TLS session cache."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

from engine.trust import ed25519
from engine.trust.cert import cert_key, cert_matches
from engine.trust.client import connect
from engine.trust.keys import HostKey, generate
from engine.trust.tls import client_context, server_context
from tests.engine.trust.conftest import server_policy


def _mapped(pid: int) -> set[str]:
    with open(f"/proc/{pid}/maps") as f:
        return {ln.split()[-1] for ln in f if "/" in ln}


def _cryptography_mapped(pid: int) -> list[str]:
    return sorted(p for p in _mapped(pid) if "/cryptography/" in p)


def _modules(pid: int) -> set[str]:
    return {Path(p).name for p in _mapped(pid)}


def test_serverd_never_loads_cryptography(make_host, start_server, as_host, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("x")
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1"))
    (a.wd / "ppkeys" / "vigil.cert").unlink()  # a workdir from before certs came with keys
    srv = start_server(a)
    pid = srv.proc.pid
    assert cert_matches(HostKey.load(a.wd / "ppkeys"))
    assert _cryptography_mapped(pid) == []
    assert not any(m.startswith("_ctypes") for m in _modules(pid))  # the verifier waits for a hello
    as_host(b)
    with connect(b.wd, srv.address, on_unknown=lambda k: True) as c:
        assert c.whoami()["status"] == "trusted"
    for _ in range(5):
        with connect(b.wd, srv.address) as c:
            c.whoami()
    if ed25519.backend() == "libcrypto":  # else serverd falls back to cryptography, as it must
        assert _cryptography_mapped(pid) == []
    assert srv.proc.poll() is None


def test_serverd_remakes_a_stale_certificate(make_host, start_server, as_host, tmp_path: Path) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(tmp_path, trustkeysfrom="127.0.0.1"))
    cert = a.wd / "ppkeys" / "vigil.cert"
    cert.write_bytes((b.wd / "ppkeys" / "vigil.cert").read_bytes())  # B's key, not A's
    srv = start_server(a)
    assert cert_key(cert) == HostKey.load(a.wd / "ppkeys").raw_public
    as_host(b)
    with connect(b.wd, srv.address, on_unknown=lambda k: True) as c:
        assert c.server.fingerprint == a.fingerprint


def test_serverd_refuses_a_private_key_that_does_not_match(make_host, start_server, tmp_path: Path) -> None:
    a = make_host("hostA")
    generate(tmp_path / "other")
    (a.wd / "ppkeys" / "vigil.priv").write_bytes((tmp_path / "other" / "vigil.priv").read_bytes())
    srv = start_server(a, wait=False)
    assert srv.proc.wait(30) == 1
    text = srv.text()
    assert "Cannot use the host key and certificate" in text and "Traceback" not in text


def _serve_one(ctx: ssl.SSLContext, sock: socket.socket, errors: list[BaseException]) -> None:
    try:
        with ctx.wrap_socket(sock, server_side=True) as s:
            s.recv(1)
    except BaseException as e:  # noqa: BLE001 - reported by the caller
        errors.append(e)


def _handshakes(ctx: ssl.SSLContext, n: int) -> None:
    cctx = client_context()
    errors: list[BaseException] = []
    for _ in range(n):
        a, b = socket.socketpair()
        t = threading.Thread(target=_serve_one, args=(ctx, a, errors))
        t.start()
        with cctx.wrap_socket(b) as c:
            assert c.version() == "TLSv1.3"
            c.sendall(b"x")
            c.recv(1)  # reads any post-handshake messages until the server closes
        t.join(10)
    assert not errors, errors


def test_server_context_keeps_no_sessions(tmp_path: Path) -> None:
    """Under TLS 1.3, OP_NO_TICKET alone makes OpenSSL issue stateful tickets and
    cache every session (serverd grew by about 1 KiB per connection)."""
    generate(tmp_path)
    key = HostKey.load(tmp_path)
    ctx = server_context(key.paths.cert, key.paths.priv)
    assert ctx.num_tickets == 0 and ctx.options & ssl.OP_NO_TICKET
    assert ctx.minimum_version is ssl.TLSVersion.TLSv1_3
    _handshakes(ctx, 20)
    stats = ctx.session_stats()
    assert stats["accept_good"] == 20 and stats["number"] == 0
