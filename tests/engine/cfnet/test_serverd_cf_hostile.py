"""Hostile CFEngine clients of vigil's serverd: each closes only its own connection.

Garbage after the banner, an endless identification line, bad and oversized
transaction headers, traversal in GET/OPENDIR, a link out of the share, unknown
commands, stalls (handshake and idle timeouts of 3 and 5 s, set in vigil.toml), a
client without a certificate; after each, a well-behaved client is still served.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from pathlib import Path

import pytest

from engine.cfnet import rsakey, wire
from engine.cfnet.tls import client_context
from tests.engine.cfnet.conftest import vigil_workdir

FAILED = wire.transaction(wire.FAILED)


def _tls(port: int, ppkeys: Path | None) -> ssl.SSLSocket:
    if ppkeys is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = client_context(ppkeys)
    raw = socket.create_connection(("127.0.0.1", port), timeout=15)
    return ctx.wrap_socket(raw, server_hostname=None)


def _line(s: ssl.SSLSocket) -> bytes:
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf


def _closed(s: ssl.SSLSocket, within: float = 12.0) -> bool:
    """The server closed the connection (EOF) within ``within`` seconds."""
    s.settimeout(within)
    try:
        while s.recv(4096):
            pass
    except (ssl.SSLError, OSError):
        return True
    return True


def _recv(s: ssl.SSLSocket) -> bytes:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            c = s.recv(n - len(buf))
            assert c, "connection closed"
            buf += c
        return buf

    n, _more = wire.parse_header(exact(wire.HEADER))
    return exact(n)


@pytest.fixture
def served(vigil_serverd, tmp_path: Path):
    share = tmp_path / "share"
    (share / "d").mkdir(parents=True)
    (share / "f").write_text("ok\n")
    os.symlink("/etc/passwd", share / "out")
    srv = vigil_serverd("hub", [str(share)])
    me = vigil_workdir(tmp_path / "me")
    rsakey.ensure_cert(me / "ppkeys")
    return srv, me / "ppkeys", share


def _welcome(port: int, ppkeys: Path) -> ssl.SSLSocket:
    s = _tls(port, ppkeys)
    assert _line(s).startswith(b"CFE_v3 ")
    s.sendall(b"CFE_v3 cf-agent 3.21.0\nIDENTITY USERNAME=root\n")
    assert _line(s) == b"OK WELCOME USERNAME=root\n"
    return s


def _still_serves(port: int, ppkeys: Path) -> None:
    with _welcome(port, ppkeys) as s:
        s.sendall(wire.transaction(b"VERSION"))
        assert _recv(s) == b"OK: 3.21.0"


@pytest.mark.slow
def test_garbage_and_bad_lines_close_only_that_connection(served) -> None:
    srv, ppkeys, _share = served
    s = _tls(srv.port, ppkeys)
    assert _line(s).startswith(b"CFE_v3 cf-serverd")
    s.sendall(b"\x00\xffgarbage\n")
    assert _closed(s)
    srv.wait_for("Protocol version negotiation failed")
    s = _tls(srv.port, ppkeys)
    _line(s)
    s.sendall(b"CFE_v1 cf-agent 3.21.0\n")  # classic: never spoken
    assert _closed(s)
    srv.wait_for("disallowed protocol version: 1")
    s = _tls(srv.port, ppkeys)
    _line(s)
    s.sendall(b"CFE_v3 x\nIDENTITY USERNAME=../../etc\n")
    assert _closed(s)
    srv.wait_for("Received invalid IDENTITY")
    s = _tls(srv.port, ppkeys)
    _line(s)
    s.sendall(b"A" * 100_000)  # a line without end
    assert _closed(s)
    _still_serves(srv.port, ppkeys)


@pytest.mark.slow
@pytest.mark.parametrize("header", [b"t 9999\0\0\0", b"t 4089\0\0\0", b"x 12\0\0\0\0",
                                    b"t 0\0\0\0\0\0", b"t -1\0\0\0\0"])
def test_bad_transaction_headers_close_the_connection(served, header: bytes) -> None:
    srv, ppkeys, _share = served
    s = _welcome(srv.port, ppkeys)
    s.sendall(header[:8] + b"A" * 64)
    assert _closed(s)
    srv.wait_for("bogus transaction header")
    _still_serves(srv.port, ppkeys)


def test_traversal_and_links_out_are_refused_and_the_connection_stays(served) -> None:
    srv, ppkeys, share = served
    with _welcome(srv.port, ppkeys) as s:
        for req in (f"GET 2048 {share}/../../etc/passwd", f"OPENDIR {share}/..", "OPENDIR /etc",
                    f"GET 2048 {share}/out", f"SYNCH {int(time.time())} STAT {share}/out",
                    f"MD5 {share}/../x", "GET 2048 relative/path"):
            payload = req.encode() + (b"\0\0" + b"x" * 16 if req.startswith("MD5") else b"")
            s.sendall(wire.transaction(payload))
            assert _recv(s) == wire.FAILED, req
        s.sendall(wire.transaction(f"GET 2048 {share}/f".encode()))
        assert s.recv(3) == b"ok\n"
        s.sendall(wire.transaction(f"OPENDIR {share}".encode()))
        names = set(_recv(s).split(b"\0"))
        assert {b"f", b"d", b"out", wire.TERMINATOR} <= names
    assert "access denied to GET" in srv.log


@pytest.mark.slow
def test_unknown_command_gets_request_denied_and_is_closed(served) -> None:
    srv, ppkeys, _share = served
    s = _welcome(srv.port, ppkeys)
    s.sendall(wire.transaction(b"CALLBACK now"))
    assert _recv(s) == b"BAD: Request denied"
    assert _closed(s)
    s = _welcome(srv.port, ppkeys)
    s.sendall(wire.transaction(b"GET 999999 /x"))
    assert _recv(s) == b"BAD: Request denied"
    assert _closed(s)
    _still_serves(srv.port, ppkeys)


@pytest.mark.slow
def test_stalls_and_certless_clients_are_dropped(served) -> None:
    srv, ppkeys, _share = served
    t0 = time.monotonic()
    s = _tls(srv.port, ppkeys)  # says nothing after the banner
    assert _line(s).startswith(b"CFE_v3")
    assert _closed(s) and time.monotonic() - t0 < 10
    s = _welcome(srv.port, ppkeys)  # then nothing: the idle timeout
    s.sendall(b"t 20\0\0\0\0abc")  # and half a transaction
    t0 = time.monotonic()
    assert _closed(s) and time.monotonic() - t0 < 12
    s = _tls(srv.port, None)  # no certificate, no SNI: neither CFEngine nor vigil
    assert _closed(s)
    srv.wait_for("Client presented no certificate")
    _still_serves(srv.port, ppkeys)
    assert srv.proc.poll() is None


def test_vigil_client_reads_a_get_refusal_as_a_refusal(served, tmp_path: Path) -> None:
    """A refused GET comes as a transaction in place of the bytes (as from cf-serverd)."""
    import hashlib
    import io

    from engine.cfnet.client import accept_unknown, connect
    from engine.trust.client import RemoteError

    srv, ppkeys, share = served
    with connect(ppkeys.parent, "127.0.0.1", srv.port, on_unknown=accept_unknown) as c, \
            pytest.raises(RemoteError, match="refused access"):
        c.get("/etc/passwd", 2000, io.BytesIO())
    with connect(ppkeys.parent, "127.0.0.1", srv.port) as c:
        out = io.BytesIO()
        assert c.get(f"{share}/f", 3, out) == 3 and out.getvalue() == b"ok\n"
        assert c.md5_differs(f"{share}/f", hashlib.md5(b"ok\n").digest()) is False
