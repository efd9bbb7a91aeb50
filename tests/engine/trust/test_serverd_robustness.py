"""A bad or slow client costs one connection; many clients are served at once."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from pathlib import Path

import psutil
import pytest

from engine.trust import frames
from engine.trust.client import Connection, connect, remote_stat
from engine.trust.tls import client_context, set_ssl_buffer_limit
from tests.engine.trust.conftest import server_policy

FAST = "[serverd]\nidle_timeout_seconds = 2\n"


@pytest.fixture
def served(make_host, start_server, as_host, tmp_path: Path):
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("x")
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1", maxconnections=1000))
    (a.wd / "vigil.toml").write_text(FAST)
    srv = start_server(a)
    as_host(b)
    remote_stat_first = connect(b.wd, srv.address, on_unknown=lambda k: True)
    remote_stat_first.close()
    return srv, b, share


def tls_sock(port: int) -> ssl.SSLSocket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return client_context().wrap_socket(s)


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionError, ssl.SSLError):
        return True
    except TimeoutError:
        return False


def still_serving(srv, b, share: Path) -> None:
    assert remote_stat(b.wd, srv.address, str(share / "f"))["size"] == 1


def test_garbage_before_tls_costs_one_connection(served) -> None:
    srv, b, share = served
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)) * 4)
    assert closed_by_server(s, 5)
    s.close()
    still_serving(srv, b, share)
    srv.wait_for("TLS handshake failed")


def test_garbage_frame_after_tls_closes_that_connection(served) -> None:
    srv, b, share = served
    s = tls_sock(srv.port)
    greeting = frames.recv_frame(s, 1 << 20).message()
    assert greeting["proto"] == "vigil" and 1 in greeting["versions"]
    s.sendall(struct.pack(">I", 5) + b"Jnot{")
    assert closed_by_server(s, 5)
    still_serving(srv, b, share)
    srv.wait_for("Bad frame, closing connection")


def test_huge_length_prefix_closes_at_once(served) -> None:
    srv, b, share = served
    s = tls_sock(srv.port)
    frames.recv_frame(s, 1 << 20)
    t0 = time.monotonic()
    s.sendall(struct.pack(">I", 0xFFFFFFF0))
    assert closed_by_server(s, 5)
    assert time.monotonic() - t0 < 1.0  # refused on the header, before any timeout
    still_serving(srv, b, share)
    srv.wait_for("exceeds the maximum")


@pytest.mark.slow
def test_client_stalling_mid_frame_does_not_block_others(served) -> None:
    srv, b, share = served
    stalled = tls_sock(srv.port)
    frames.recv_frame(stalled, 1 << 20)
    stalled.sendall(struct.pack(">I", 100) + b"J{")  # 97 bytes never come
    t0 = time.monotonic()
    still_serving(srv, b, share)  # served while the other one stalls
    assert time.monotonic() - t0 < 1.0
    assert closed_by_server(stalled, 5)  # and the stalled one times out
    srv.wait_for("timed out")


@pytest.mark.slow
def test_silent_tcp_client_times_out_in_handshake(served) -> None:
    srv, b, share = served
    s = socket.create_connection(("127.0.0.1", srv.port))
    still_serving(srv, b, share)
    assert closed_by_server(s, 5)


def test_two_hundred_concurrent_clients(served) -> None:
    srv, b, share = served
    proc = psutil.Process(srv.proc.pid)
    rss_before = proc.memory_info().rss
    n = 200
    conns: list[Connection | None] = [None] * n
    errors: list[BaseException] = []

    def open_one(i: int) -> None:
        try:
            conns[i] = connect(b.wd, srv.address)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    try:
        rss_connected = proc.memory_info().rss
        for c in conns:
            assert c is not None and c.stat(str(share / "f"))["size"] == 1
        per_conn = (rss_connected - rss_before) / n
        # asyncio's default TLS read buffer alone is 256 KiB a connection
        assert per_conn < 128 * 1024, f"{per_conn / 1024:.0f} KiB per idle connection"
    finally:
        for c in conns:
            if c is not None:
                c.close()


def test_ssl_buffer_limit_still_exists_and_is_applied() -> None:
    from asyncio import sslproto

    previous = set_ssl_buffer_limit(32 * 1024)
    try:
        assert previous > 0, "asyncio.sslproto.SSLProtocol.max_size is gone"
        assert sslproto.SSLProtocol.max_size == 32 * 1024
    finally:
        set_ssl_buffer_limit(previous)
