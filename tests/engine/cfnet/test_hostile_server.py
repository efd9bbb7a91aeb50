"""The client against hostile servers: garbage, oversized transactions, stalls. Each
ends that connection with an error naming the server, never a traceback or a hang.
The fake server uses engine.cfnet.tls.server_context (accept-any client certificate)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.cfnet import client, rsakey, wire
from engine.trust.client import RemoteError


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    srv, cli = tmp_path_factory.mktemp("srv"), tmp_path_factory.mktemp("cli")
    for wd in (srv, cli):
        rsakey.generate(wd / "ppkeys")
        rsakey.ensure_cert(wd / "ppkeys")
    return srv, cli


def serve_once(srv: Path, script: Callable[[ssl.SSLSocket], None]) -> int:
    from engine.cfnet.tls import server_context

    ctx = server_context(srv / "ppkeys")
    lsock = socket.create_server(("127.0.0.1", 0))
    port = int(lsock.getsockname()[1])

    def run() -> None:
        conn, _ = lsock.accept()
        try:
            with ctx.wrap_socket(conn, server_side=True) as t:
                assert t.getpeercert(binary_form=True)  # the client's RSA cert came through
                script(t)
        except (OSError, ssl.SSLError):
            pass
        finally:
            lsock.close()

    threading.Thread(target=run, daemon=True).start()
    return port


def welcome(t: ssl.SSLSocket) -> None:
    t.sendall(b"CFE_v3 cf-serverd 3.21.0\n")
    data = b""
    while data.count(b"\n") < 2:
        data += t.recv(1024)
    t.sendall(b"OK WELCOME USERNAME=root\n")


def test_garbage_banner(keys: tuple[Path, Path]) -> None:
    srv, cli = keys
    port = serve_once(srv, lambda t: t.sendall(b"\x00\xffHELLO THERE\n"))
    with pytest.raises(RemoteError, match="did not greet as a CFEngine server"):
        client.connect(cli, "127.0.0.1", port, on_unknown=client.accept_unknown, timeout=5)


def test_oversized_and_bogus_transactions(keys: tuple[Path, Path]) -> None:
    srv, cli = keys
    for bad in (b"t 99999\0", b"x 12\0\0\0\0", b"t -1\0\0\0\0", b"t 0\0\0\0\0\0"):
        def script(t: ssl.SSLSocket, bad: bytes = bad) -> None:
            welcome(t)
            t.recv(4096)
            t.sendall(bad + b"A" * 64)
            time.sleep(0.5)

        port = serve_once(srv, script)
        with client.connect(cli, "127.0.0.1", port, on_unknown=client.accept_unknown, timeout=5) as c:
            with pytest.raises(RemoteError, match="bogus transaction header"):
                c.version()
            assert c.broken


def test_stalled_server_times_out(keys: tuple[Path, Path]) -> None:
    srv, cli = keys

    def script(t: ssl.SSLSocket) -> None:
        welcome(t)
        time.sleep(4)

    port = serve_once(srv, script)
    with client.connect(cli, "127.0.0.1", port, on_unknown=client.accept_unknown, timeout=1) as c:
        started = time.monotonic()
        with pytest.raises(RemoteError):
            c.version()
        assert time.monotonic() - started < 3


def test_bad_names_in_a_listing_are_refused(keys: tuple[Path, Path], tmp_path: Path) -> None:
    from engine.cfnet.copy_remote import RemoteCopy

    srv, cli = keys

    def script(t: ssl.SSLSocket) -> None:
        welcome(t)
        t.recv(4096)
        t.sendall(wire.transaction(b"../escape\0sub/x\0" + wire.TERMINATOR + b"\0\0"))
        time.sleep(0.5)

    class Acc:
        warn_only = False
        failed: list[str] = []

        def repair(self, msg: str | None = None) -> None:
            raise AssertionError(msg)

        def fail(self, msg: str | None = None) -> None:
            self.failed.append(str(msg))

        def keep(self) -> None:
            pass

        def should(self, what: str) -> None:
            raise AssertionError(what)

    port = serve_once(srv, script)
    acc = Acc()
    (tmp_path / "dest").mkdir()
    with client.connect(cli, "127.0.0.1", port, on_unknown=client.accept_unknown, timeout=5) as c:
        RemoteCopy(c, "evil", {}, acc, lambda *a: None).tree("/src", str(tmp_path / "dest"), 1, 5)
    assert len(acc.failed) == 2 and all("bad name" in f for f in acc.failed)
    assert list((tmp_path / "dest").iterdir()) == []
