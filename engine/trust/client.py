"""Blocking client for serverd, used by the agent (``copy_from``), ``vigil runagent``
and the console's key exchange.

``connect()`` does TLS, checks the server's key against the trust store (what to
do with an unknown key is the caller's ``on_unknown`` choice), then proves our
own key in the hello. A :class:`Connection` serves one request at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from engine.atomicwrite import atomic_file
from engine.trust import frames
from engine.trust.identity import host_name, user_name
from engine.trust.keys import HostKey, KeyFileError, fingerprint
from engine.trust.protocol import (
    DEFAULT_PORT,
    NONCE_LEN,
    PROTOCOL,
    VERSION,
    Op,
    ProtocolError,
    Status,
    auth_transcript,
    b64,
    unb64,
)
from engine.trust.settings import ServerdSettings, load_serverd_settings
from engine.trust.store import PeerState, TrustStore
from engine.trust.tls import SERVER_NAME, channel_binding, client_context, peer_key
from engine.workdir import make_dirs


class RemoteError(Exception):
    """The server refused a request or the connection failed."""


class TrustError(RemoteError):
    """The server's key is not trusted (unknown or changed), or it refused ours."""

    def __init__(self, message: str, fingerprint: str = "", changed_from: str | None = None,
                 status: str = "") -> None:
        super().__init__(message)
        self.fingerprint = fingerprint
        self.changed_from = changed_from
        self.status = status


def split_server(server: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` -> (host, port)."""
    server = server.strip()
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if server.count(":") == 1:
        host, _, port = server.partition(":")
        return host, int(port)
    return server, default_port


def server_names(host: str, port: int) -> tuple[str, str]:
    """The names a server is filed under in the trust store: ``host:port`` and ``host``."""
    return (f"{host}:{port}", host)


@dataclass(frozen=True, slots=True)
class ServerKey:
    """What a server presented, judged against our trust store."""

    host: str
    port: int
    fingerprint: str
    raw: bytes
    known: bool
    changed_from: str | None
    server_name: str = ""
    server_host: str = ""


# on_unknown(server_key) -> True to trust it (and save it), False to refuse.
UnknownPolicy = Callable[[ServerKey], bool]


def refuse_unknown(_key: ServerKey) -> bool:
    return False


def accept_unknown(_key: ServerKey) -> bool:
    return True


class Connection:
    """An authenticated connection; use as a context manager."""

    def __init__(self, sock: ssl.SSLSocket, server: ServerKey, status: str,
                 client_fp: str, max_frame: int, error: str = "") -> None:
        self.sock = sock
        self.server = server
        self.status = status  # our standing on the server (Status)
        self.client_fingerprint = client_fp
        self.max_frame = max_frame
        self.error = error  # the server's words when it does not trust us

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            if self.status == Status.TRUSTED:
                self.sock.sendall(frames.encode_message({"op": Op.BYE}))
        with contextlib.suppress(OSError):
            self.sock.close()

    # -- frames ------------------------------------------------------------------------

    def send(self, msg: dict[str, Any]) -> None:
        self.sock.sendall(frames.encode_message(msg))

    def recv(self) -> frames.Frame:
        try:
            return frames.recv_frame(self.sock, self.max_frame)
        except (ConnectionError, ssl.SSLError, OSError) as e:
            raise RemoteError(f"connection to {self.server.host}:{self.server.port} lost: {e}") from None

    def recv_message(self) -> dict[str, Any]:
        return self.recv().message()

    def request(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.send(msg)
        reply = self.recv_message()
        if not reply.get("ok"):
            raise RemoteError(str(reply.get("error", "request refused")))
        return reply

    # -- requests ----------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        return self.request({"op": Op.WHOAMI})

    def stat(self, path: str) -> dict[str, Any]:
        return dict(self.request({"op": Op.STAT, "path": path})["stat"])

    def digest(self, path: str) -> str:
        return str(self.request({"op": Op.DIGEST, "path": path})["digest"])

    def listdir(self, path: str) -> list[dict[str, Any]]:
        self.send({"op": Op.LIST, "path": path})
        out: list[dict[str, Any]] = []
        while True:
            reply = self.recv_message()
            if not reply.get("ok"):
                raise RemoteError(str(reply.get("error", "request refused")))
            out.extend(reply.get("entries", []))
            if not reply.get("more"):
                return out

    def get(self, path: str, out: Any, offset: int = 0) -> dict[str, Any]:
        """Write the file's bytes from ``offset`` to ``out`` (a binary file);
        returns the server's stat of it. Fails if the file changed size mid-way."""
        head = self.request({"op": Op.GET, "path": path, "offset": offset})
        size = int(head["stat"]["size"])
        got = 0
        while True:
            frame = self.recv()
            if frame.is_json:
                end = frame.message()
                if not end.get("ok"):
                    raise RemoteError(str(end.get("error", "transfer failed")))
                break
            got += len(frame.body)
            if offset + got > size:
                raise RemoteError(f"'{path}': the server sent more than the {size} bytes announced")
            out.write(frame.body)
        if offset + got != size:
            raise RemoteError(f"'{path}' changed during the transfer ({offset + got} of {size} bytes)")
        return dict(head["stat"])

    def run(self, classes: list[str] | None = None) -> Iterator[bytes | int]:
        """Ask for an agent run; yields output chunks, then the exit code (int)."""
        self.request({"op": Op.RUN, "classes": list(classes or [])})
        while True:
            frame = self.recv()
            if not frame.is_json:
                yield frame.body
                continue
            end = frame.message()
            if not end.get("ok"):
                raise RemoteError(str(end.get("error", "run failed")))
            yield int(end.get("exit", 255))
            return


def client_settings(workdir: Path) -> ServerdSettings:
    try:
        return load_serverd_settings(workdir)
    except ValueError as e:  # engine.settings.SettingsError
        raise RemoteError(str(e)) from None


def _judge(store: TrustStore, host: str, port: int, raw: bytes) -> ServerKey:
    fp = fingerprint(raw)
    known = store.is_trusted(fp)
    changed = None
    if not known:
        others = [p for p in store.trusted_for_name(*server_names(host, port)) if p.fingerprint != fp]
        changed = others[0].fingerprint if others else None
    return ServerKey(host, port, fp, raw, known, changed)


def open_tls(host: str, port: int, timeout: float) -> ssl.SSLSocket:
    try:
        raw_sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        raise RemoteError(f"Unable to establish connection to '{host}:{port}': {e.strerror or e}") from None
    try:
        local = str(raw_sock.getsockname()[0])
    except OSError:
        local = "?"
    try:
        sock = client_context().wrap_socket(raw_sock, server_hostname=SERVER_NAME)
    except (ssl.SSLError, OSError) as e:
        raw_sock.close()
        raise RemoteError(handshake_failure(host, port, local, e)) from None
    return sock


_CLOSED_EARLY = ("UNEXPECTED_EOF_WHILE_READING", "EOF occurred", "reset by peer")


def handshake_failure(host: str, port: int, local: str, exc: BaseException) -> str:
    """What a failed TLS handshake means, in words: serverd answers a connection
    its ``body server control`` refuses with an access_denied alert (older
    servers, and a flood, just close it), and logs the rule it applied."""
    where = "its serverd log (logs/serverd.log in its workdir)"
    rules = "allowconnects, denyconnects, allowallconnects or maxconnections"
    reason = getattr(exc, "reason", None) or ""
    if reason == "TLSV1_ALERT_ACCESS_DENIED":
        return (f"'{host}:{port}' refused the connection from {local}: its body server control "
                f"does not admit this address now ({rules}); {where} names the rule")
    if isinstance(exc, ConnectionResetError) or any(m in f"{reason} {exc}" for m in _CLOSED_EARLY):
        return (f"'{host}:{port}' closed the connection from {local} during the TLS handshake: "
                f"most likely its body server control refused this address ({rules}), which "
                f"{where} says; or it is not a vigil serverd ({exc})")
    return f"Failed to establish TLS connection to '{host}:{port}': {exc}"


def connect(
    workdir: str | os.PathLike[str],
    server: str,
    on_unknown: UnknownPolicy = refuse_unknown,
    timeout: float | None = None,
    require_trusted: bool = True,
) -> Connection:
    """Connect and authenticate. Raises :class:`TrustError` when the server's key is
    not trusted (and ``on_unknown`` declines) or changed, or — with
    ``require_trusted`` — when the server does not trust us."""
    wd = Path(workdir)
    settings = client_settings(wd)
    host, port = split_server(server, settings.port)
    try:
        me = HostKey.load(wd / "ppkeys")
    except KeyFileError as e:
        raise RemoteError(str(e)) from None
    store = TrustStore(wd / "ppkeys")
    sock = open_tls(host, port, timeout or settings.connect_timeout)
    try:
        conn = _handshake(sock, store, me, host, port, on_unknown, settings.max_frame)
    except BaseException:
        with contextlib.suppress(OSError):
            sock.close()
        raise
    if require_trusted and conn.status != Status.TRUSTED:
        conn.close()
        raise TrustError(
            f"Server {host}:{port} refused our key {conn.client_fingerprint}: {conn.status}"
            + (f" ({conn.error})" if conn.error else ""),
            fingerprint=conn.server.fingerprint,
            status=conn.status,
        )
    return conn


def _handshake(sock: ssl.SSLSocket, store: TrustStore, me: HostKey, host: str, port: int,
               on_unknown: UnknownPolicy, max_frame: int) -> Connection:
    try:
        raw = peer_key(sock)
    except KeyFileError as e:
        raise TrustError(f"server {host}:{port} presented no usable key: {e}") from None
    judged = _judge(store, host, port, raw)
    try:
        greeting = frames.recv_frame(sock, max_frame).message()
    except (ConnectionError, ssl.SSLError, OSError, frames.FrameError) as e:
        raise RemoteError(f"Connection to '{host}:{port}' was hung up during identification: {e}") from None
    if greeting.get("proto") != PROTOCOL or VERSION not in (greeting.get("versions") or []):
        raise ProtocolError(f"'{host}:{port}' does not speak vigil protocol version {VERSION}")
    nonce = unb64(greeting.get("nonce"), NONCE_LEN)
    judged = replace(
        judged,
        server_name=str(greeting.get("server", "")),
        server_host=str(greeting.get("host", "")),
    )
    if judged.changed_from:
        raise TrustError(
            f"HOST KEY CHANGED: {host}:{port} is trusted with key {judged.changed_from} "
            f"but presented {judged.fingerprint}. It may be an impostor, or it was re-keyed: "
            f"check, then 'vigil key --remove {judged.changed_from}'.",
            fingerprint=judged.fingerprint,
            changed_from=judged.changed_from,
        )
    if not judged.known:
        if not on_unknown(judged):
            raise TrustError(
                f"TRUST FAILED, server presented untrusted key: {judged.fingerprint}",
                fingerprint=judged.fingerprint,
            )
        store.add(raw, PeerState.TRUSTED, f"{host}:{port}", host)
    else:
        peer = store.get(judged.fingerprint)
        if peer is not None:
            store.seen(peer, host, f"{host}:{port}")
    user = user_name()
    me_host = host_name()
    transcript = auth_transcript(nonce, channel_binding(sock), raw, me.raw_public, me_host, user)
    hello = {
        "op": Op.HELLO,
        "version": VERSION,
        "host": me_host,
        "user": user,
        "key": b64(me.raw_public),
        "sig": b64(me.sign(transcript)),
    }
    try:
        sock.sendall(frames.encode_message(hello))
        reply = frames.recv_frame(sock, max_frame).message()
    except (ConnectionError, ssl.SSLError, OSError, frames.FrameError) as e:
        raise RemoteError(f"Connection to '{host}:{port}' was hung up during identification: {e}") from None
    status = str(reply.get("status", Status.DENIED))
    error = "" if status == Status.TRUSTED else str(reply.get("error", ""))[:500]
    return Connection(sock, judged, status, me.fingerprint, max_frame, error)


# -- one-call helpers for the agent --------------------------------------------------------


def remote_stat(workdir: str | os.PathLike[str], server: str, path: str) -> dict[str, Any]:
    with connect(workdir, server) as c:
        return c.stat(path)


def remote_digest(workdir: str | os.PathLike[str], server: str, path: str) -> str:
    with connect(workdir, server) as c:
        return c.digest(path)


def remote_list(workdir: str | os.PathLike[str], server: str, path: str) -> list[dict[str, Any]]:
    with connect(workdir, server) as c:
        return c.listdir(path)


def remote_get(workdir: str | os.PathLike[str], server: str, path: str,
               dest_tmp: str | os.PathLike[str], resume: bool = False) -> dict[str, Any]:
    """Fetch ``path`` into ``dest_tmp``; with ``resume`` continue an earlier partial file."""
    dest = Path(dest_tmp)
    offset = dest.stat().st_size if resume and dest.exists() else 0
    with connect(workdir, server) as c, open(dest, "ab" if offset else "wb") as f:
        return c.get(path, f, offset)


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What ``copy_from_remote`` did: ``changed`` is False when dest was up to date."""

    changed: bool
    dest: str
    server: str
    source: str
    size: int = 0
    digest: str = ""
    message: str = ""


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def copy_from_remote(
    workdir: str | os.PathLike[str],
    server: str,
    source: str,
    dest: str | os.PathLike[str],
    compare: Literal["digest", "mtime", "exists"] = "digest",
    trustkey: bool = False,
    dry_run: bool = False,
) -> CopyResult:
    """``copy_from { source => SOURCE; servers => {SERVER}; compare => ...; }``.

    Compares first (``digest``: SHA-256; ``mtime``: the server's file is newer;
    ``exists``: dest is present), then fetches into ``<dest>.vigilnew`` next to
    dest, checks its digest, keeps the server's mode bits and mtime, and renames
    it over dest. ``trustkey`` trusts and saves an unknown server key on first
    contact (cf-agent's ``trustkey => "true"``). Raises RemoteError/TrustError.
    """
    dest_p = Path(dest)
    on_unknown = accept_unknown if trustkey else refuse_unknown
    with connect(workdir, server, on_unknown=on_unknown) as c:
        st = c.stat(source)
        if st.get("type") != "file":
            raise RemoteError(f"'{source}' on '{server}' is not a regular file")
        remote_digest = ""
        if dest_p.exists():
            if compare == "exists":
                return CopyResult(False, str(dest_p), server, source, int(st["size"]))
            if compare == "mtime":
                if dest_p.stat().st_mtime >= float(st["mtime"]):
                    return CopyResult(False, str(dest_p), server, source, int(st["size"]))
            else:
                remote_digest = c.digest(source)
                if dest_p.stat().st_size == int(st["size"]) and _sha256_file(dest_p) == remote_digest:
                    return CopyResult(False, str(dest_p), server, source, int(st["size"]), remote_digest)
        if dry_run:
            return CopyResult(True, str(dest_p), server, source, int(st["size"]), remote_digest,
                              "would copy")
        make_dirs(dest_p.parent, 0o755)
        with atomic_file(dest_p) as staged:
            got = c.get(source, staged.file)
            staged.file.flush()
            local = _sha256_file(Path(staged.path))
            if remote_digest and local != remote_digest:
                raise RemoteError(f"'{source}' from '{server}' changed during the copy")
            staged.mode = int(got.get("mode", 0o600)) & 0o7777
            mtime = float(got.get("mtime", 0))
            os.utime(staged.path, (mtime, mtime))
        return CopyResult(True, str(dest_p), server, source, int(got["size"]), local,
                          f"Updated file '{dest_p}' from '{server}:{source}'")
