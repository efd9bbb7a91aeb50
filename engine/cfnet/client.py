"""Client of cf-serverd (and of vigil's serverd speaking CFEngine): ``copy_from``
and ``runagent`` against CFEngine hosts.

:func:`connect` does the TLS handshake presenting our RSA key, judges the server's
key (trusted file, ``trustkey``, changed, pending), exchanges versions (we ask for
3, "cookie"; a server answering with 2 is spoken to in 2: the commands used here are
the same) and ``IDENTITY``, and returns a :class:`CfConnection` for commands.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.cfengine.keys import digest
from engine.cfnet import lastseen, rsakey, wire
from engine.cfnet.peers import CfPeers
from engine.trust.client import RemoteError, TrustError

DEFAULT_PORT = 5308
CLIENT_VERSION = "3.21.0"


_GET_REFUSALS = (wire.FAILED, wire.transaction(wire.FAILED))


class NotCFEngine(RemoteError):
    """The server presented a vigil (Ed25519) key: it speaks vigil's own protocol."""


@dataclass(frozen=True, slots=True)
class ServerKey:
    host: str
    port: int
    digest: str
    n: int
    e: int
    known: bool
    changed_from: str | None


def refuse_unknown(_key: ServerKey) -> bool:
    return False


def accept_unknown(_key: ServerKey) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class RemoteStat:
    """The 13 numbers of a ``STAT`` reply and the link target."""

    type: int  # 0 file, 1 link, 2 dir, 3 fifo, 4 block, 5 char, 6 socket (CFEngine's FileType)
    mode: int
    lmode: int
    uid: int
    gid: int
    size: int
    atime: int
    mtime: int
    ctime: int
    makeholes: int
    ino: int
    nlink: int
    dev: int
    link: str = ""

    @property
    def is_dir(self) -> bool:
        return self.type == 2

    @property
    def is_file(self) -> bool:
        return self.type == 0


class Writer(Protocol):
    """Where GET's bytes go (a binary file, or a writer that makes holes of zeros)."""

    def write(self, data: bytes, /) -> int: ...


class CfConnection:
    """One authenticated connection; one command at a time."""

    def __init__(self, sock: ssl.SSLSocket, server: ServerKey, protocol: int, address: str) -> None:
        self.sock = sock
        self.server = server
        self.protocol = protocol
        self.address = address
        self.broken = False

    def __enter__(self) -> CfConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close with a TLS close_notify while the stream is in step, so that the
        server logs a closed connection, not an error (cf-serverd 3.21: "Connection
        unexpectedly closed (SSL_read)")."""
        if not self.broken:
            with contextlib.suppress(OSError, ValueError):
                self.sock.settimeout(2.0)
                self.sock.unwrap()
        with contextlib.suppress(OSError):
            self.sock.close()

    # -- transactions ----------------------------------------------------------

    def _read_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except (OSError, ssl.SSLError) as exc:
                self.broken = True
                raise RemoteError(f"connection to {self._name()} failed: {exc}") from None
            if not chunk:
                self.broken = True
                raise RemoteError(f"{self._name()} closed the connection")
            buf += chunk
        return bytes(buf)

    def send(self, payload: bytes, more: bool = False) -> None:
        try:
            self.sock.sendall(wire.transaction(payload, more))
        except (OSError, ssl.SSLError) as exc:
            self.broken = True
            raise RemoteError(f"connection to {self._name()} failed: {exc}") from None

    def recv(self) -> tuple[bytes, bool]:
        try:
            n, more = wire.parse_header(self._read_exact(wire.HEADER))
        except wire.WireError as exc:
            self.broken = True
            raise RemoteError(f"{self._name()}: {exc}") from None
        return self._read_exact(n), more

    def _name(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    def _refused(self, what: str, reply: bytes) -> RemoteError:
        text = wire.cstr(reply).decode("utf-8", "replace")
        return RemoteError(f"{self._name()} refused {what}: {text[4:].strip() if text.startswith('BAD:') else text}")

    # -- commands --------------------------------------------------------------

    def version(self) -> str:
        self.send(b"VERSION")
        reply = wire.cstr(self.recv()[0]).decode("utf-8", "replace")
        return reply[3:].strip() if reply.startswith("OK:") else reply

    def stat(self, path: str) -> RemoteStat:
        self.send(f"SYNCH {int(time.time())} STAT {path}".encode())
        reply = wire.cstr(self.recv()[0])
        if not reply.startswith(b"OK:"):
            raise self._refused(f"STAT of '{path}'", reply)
        nums = reply[3:].split()
        if len(nums) < 13:
            self.broken = True
            raise RemoteError(f"{self._name()}: cannot read STAT reply {reply[:80]!r}")
        try:
            values = [int(x) for x in nums[:13]]
        except ValueError:
            self.broken = True
            raise RemoteError(f"{self._name()}: cannot read STAT reply {reply[:80]!r}") from None
        link = wire.cstr(self.recv()[0])
        # values holds exactly the 13 numbers: mypy cannot count a list
        return RemoteStat(*values, link=link[3:].decode("utf-8", "surrogateescape"))  # type: ignore[arg-type,misc]

    def opendir(self, path: str) -> list[str]:
        self.send(f"OPENDIR {path}".encode())
        names: list[str] = []
        while True:
            payload, _more = self.recv()
            if payload.startswith(b"BAD:"):
                raise self._refused(f"OPENDIR of '{path}'", payload)
            for raw in payload.split(b"\0"):
                if raw == wire.TERMINATOR:
                    return [n for n in names if n not in (".", "..")]
                if raw:
                    names.append(raw.decode("utf-8", "surrogateescape"))

    def md5_differs(self, path: str, md5: bytes) -> bool:
        """True when the server's file does not have this MD5 (``MD5`` command)."""
        self.send(f"MD5 {path}".encode() + b"\0\0" + md5)
        reply = wire.cstr(self.recv()[0])
        if reply == wire.CFD_FALSE:
            return False
        if reply == wire.CFD_TRUE:
            return True
        raise self._refused(f"MD5 of '{path}'", reply)

    def get(self, path: str, size: int, out: Writer) -> int:
        """``GET``: the server sends exactly ``size`` raw bytes (from the STAT just done)
        or a refusal in their place. A refusal leaves the stream out of step, so the
        connection is closed then."""
        self.send(f"GET {wire.GET_BLOCK} {path}".encode())
        got = 0
        while got < size:
            want = min(wire.GET_BLOCK, size - got)
            try:
                chunk = self.sock.recv(want)
            except (OSError, ssl.SSLError) as exc:
                self.broken = True
                raise RemoteError(f"copy of '{path}' from {self._name()} failed: {exc}") from None
            if not chunk:
                self.broken = True
                raise RemoteError(f"{self._name()} closed the connection during the copy of "
                                  f"'{path}' (has it shrunk?)")
            # cf-serverd 3.21 refuses a GET with a transaction ("t 59" header, then the
            # text) in place of the bytes; older servers sent the text alone
            if got == 0 and len(chunk) >= 5 and any(
                    chunk == refusal[:len(chunk)] for refusal in _GET_REFUSALS):
                self.broken = True
                self.close()
                raise RemoteError(f"{self._name()} refused access to '{path}'")
            if chunk.startswith(wire.CHANGED):
                self.broken = True
                self.close()
                raise RemoteError(f"'{path}' changed on {self._name()} while copying")
            out.write(chunk)
            got += len(chunk)
        return got

    def exec(self, args: str = "", classes: list[str] | None = None) -> Iterator[str]:
        """``EXEC``: the run command's output lines, as cf-runagent prints them
        (``> `` lines are the agent's output; ``BAD:`` lines the server's refusals)."""
        self.send(("EXEC " + args if args else "EXEC").encode())
        for c in classes or []:
            self.send(c.encode())
        self.send(wire.TERMINATOR)
        while True:
            try:
                payload, _more = self.recv()
            except RemoteError:
                return
            text = wire.cstr(payload)
            if text.startswith(wire.TERMINATOR):
                return
            yield text.decode("utf-8", "replace")


def server_key(sock: ssl.SSLSocket, host: str, port: int) -> tuple[int, int]:
    from engine.trust.der import spki_of_cert
    from engine.trust.keys import KeyFileError, raw_from_spki

    der = sock.getpeercert(binary_form=True)
    if not der:
        raise TrustError(f"{host}:{port} presented no certificate")
    try:
        spki = spki_of_cert(der)
    except KeyFileError as exc:
        raise TrustError(f"{host}:{port} presented no usable certificate: {exc}") from None
    try:
        return rsakey.numbers(spki)
    except rsakey.RSAKeyError:
        try:
            raw_from_spki(spki)
        except KeyFileError:
            raise TrustError(f"{host}:{port} presented a key that is neither RSA (CFEngine) "
                             "nor Ed25519 (vigil)") from None
        raise NotCFEngine(f"{host}:{port} is a vigil server (Ed25519 key)") from None


def judge(ppkeys: Path, host: str, port: int, n: int, e: int) -> ServerKey:
    peers = CfPeers(ppkeys)
    dig = digest(n, e)
    name = f"{host}:{port}"
    known = peers.is_trusted(dig)
    return ServerKey(host, port, dig, n, e, known, None if known else peers.changed_from(name, dig))


def connect(workdir: str | Path, host: str, port: int = DEFAULT_PORT,
            on_unknown: Callable[[ServerKey], bool] = refuse_unknown, timeout: float = 30.0,
            user: str | None = None, protocol: int = 3, tls_ciphers: str = "",
            tls_min_version: str = "") -> CfConnection:
    """Connect, authenticate and identify. TrustError for an untrusted or changed
    server key (an unknown key is filed as pending), or when the server drops us
    after ``IDENTITY`` (it does not trust our key, or refuses our address)."""
    from engine.trust.identity import user_name

    wd = Path(workdir)
    ppkeys = wd / "ppkeys"
    if not rsakey.has_key(ppkeys):
        _probe_without_key(host, port, timeout)  # NotCFEngine when it is a vigil server
        raise RemoteError(f"No RSA key pair in '{ppkeys}' (localhost.priv/.pub) to connect to "
                          f"the CFEngine server {host}:{port}, please create one by running "
                          "'vigil key'")
    try:
        rsakey.ensure_cert(ppkeys)
    except rsakey.RSAKeyError as exc:
        raise RemoteError(str(exc)) from None
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise RemoteError(f"Unable to establish connection to '{host}:{port}': "
                          f"{exc.strerror or exc}") from None
    address = str(raw.getpeername()[0])
    try:
        sock = _tls(raw, ppkeys, host, port, tls_ciphers, tls_min_version)
    except BaseException:
        raw.close()
        raise
    try:
        key = judge(ppkeys, host, port, *server_key(sock, host, port))
        _decide(ppkeys, key, address, on_unknown)
        negotiated = identify(sock, host, port, user or user_name(), protocol)
    except BaseException:
        with contextlib.suppress(OSError):
            sock.close()
        raise
    with contextlib.suppress(OSError, Exception):
        lastseen.saw(wd / "state", address, key.digest, incoming=False)
    return CfConnection(sock, key, negotiated, address)


def _probe_without_key(host: str, port: int, timeout: float) -> None:
    """Without an RSA key we cannot speak CFEngine, but the server may be a vigil one:
    look at its certificate (a handshake presenting nothing) and raise NotCFEngine then."""
    from engine.trust.tls import SERVER_NAME

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:  # nobody there: that, not the missing key, is the news
        raise RemoteError(f"Unable to establish connection to '{host}:{port}': "
                          f"{exc.strerror or exc}") from None
    try:
        with raw, ctx.wrap_socket(raw, server_hostname=SERVER_NAME) as sock:
            server_key(sock, host, port)  # a vigil serverd answers vigil's name with its key
    except (OSError, ssl.SSLError, TrustError):
        return


def _tls(raw: socket.socket, ppkeys: Path, host: str, port: int, ciphers: str = "",
         min_version: str = "") -> ssl.SSLSocket:
    from engine.cfnet.tls import TLSSetupError, client_context

    try:
        ctx = client_context(ppkeys, ciphers, min_version)
    except TLSSetupError as exc:
        raise RemoteError(f"Cannot connect to '{host}:{port}': {exc}") from None
    try:
        return ctx.wrap_socket(raw, server_hostname=None)
    except (ssl.SSLError, OSError) as exc:
        raise RemoteError(f"Failed to establish TLS connection to '{host}:{port}': {exc} "
                          "(a cf-serverd closes connections its allowconnects/denyconnects "
                          "or maxconnections refuse; its log names the rule)") from None


def _decide(ppkeys: Path, key: ServerKey, address: str,
            on_unknown: Callable[[ServerKey], bool]) -> None:
    peers = CfPeers(ppkeys)
    name = f"{key.host}:{key.port}"
    if key.known:
        peers.bind_name(name, key.digest)
        return
    if key.changed_from:
        peers.file_pending(key.n, key.e, address, host=name, changed_from=key.changed_from)
        raise TrustError(
            f"TRUST FAILED, server {name} presented key {key.digest}, but it was trusted with "
            f"{key.changed_from}: the key changed (a reinstalled host, or a man in the middle). "
            f"Not trusted automatically; the new key is pending ('vigil key --accept "
            f"{key.digest}' if the change is expected)", fingerprint=key.digest,
            changed_from=key.changed_from, status="changed")
    if peers.state_of(key.digest) == "rejected":
        raise TrustError(f"TRUST FAILED, server {name} presented the rejected key {key.digest}",
                         fingerprint=key.digest, status="rejected")
    if on_unknown(key):
        peers.trust(key.n, key.e, name=name)
        return
    peers.file_pending(key.n, key.e, address, host=name)
    raise TrustError(f"TRUST FAILED, server {name} presented untrusted key: {key.digest} "
                     f"(pending: trustkey => \"true\" or 'vigil key --accept "
                     f"{key.digest}' trusts it)", fingerprint=key.digest, status="unknown")


def _read_line(sock: ssl.SSLSocket) -> bytes:
    buf = bytearray()
    while not buf.endswith(b"\n"):
        chunk = sock.recv(wire.MAX_LINE + 1 - len(buf))
        if not chunk:
            break
        buf += chunk
        if len(buf) > wire.MAX_LINE:
            raise RemoteError("server line too long")
    return bytes(buf)


def identify(sock: ssl.SSLSocket, host: str, port: int, user: str, protocol: int) -> int:
    name = f"{host}:{port}"
    try:
        banner = _read_line(sock)
        offered = wire.parse_version(banner)
        if offered is None:
            raise RemoteError(f"{name} did not greet as a CFEngine server: {banner[:60]!r}")
        wanted = min(protocol, 3)
        if offered < wanted:
            wanted = offered if offered in wire.VERSIONS else wanted
        sock.sendall(f"CFE_v{wanted} cf-agent {CLIENT_VERSION}\n".encode())
        sock.sendall(f"IDENTITY USERNAME={user}\n".encode())
        welcome = _read_line(sock)
    except (OSError, ssl.SSLError) as exc:
        raise TrustError(f"{name} closed the connection during identification ({exc}): it "
                         "does not trust our key (see its log: 'TRUST FAILED'), or refused us",
                         status="refused") from None
    if not welcome:
        raise TrustError(f"{name} closed the connection after IDENTITY: it does not trust our "
                         "key yet (cf-key -t / trustkeysfrom there), or refused the user",
                         status="refused")
    if not welcome.startswith(b"OK WELCOME"):
        raise TrustError(f"{name} did not accept our identity: {welcome[:80]!r}", status="refused")
    return wanted
