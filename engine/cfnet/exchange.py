"""The key exchange with a CFEngine server (cf-serverd, or vigil's serverd speaking CFEngine).

The same three steps as vigil's own exchange (:mod:`engine.trust.exchange`):

1. :func:`probe` does a TLS handshake and takes the server's RSA key, writing nothing;
2. the admin compares ``probe.fingerprint`` (``MD5=…``, as ``cf-key -p`` prints it on
   the peer) and, if it matches, the key is trusted (``root-MD5=….pub``);
3. :func:`standing` connects again and identifies: a server that welcomes us trusts our
   key. CFEngine's protocol has no "pending" answer: a server that does not trust our
   key closes the connection, and so does one refusing our address or user, so those
   are reported together, with what to do on the peer.

Nothing here writes to the workdir: the certificate our key needs for the handshake is
made in a private temp directory, so a CFEngine workdir's ``ppkeys`` stays as cf-key
left it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.cfengine.keys import KeyReadError, file_digest
from engine.cfnet import rsakey
from engine.cfnet.client import DEFAULT_PORT, identify, judge, server_key
from engine.cfnet.tls import client_context
from engine.trust.client import RemoteError, TrustError
from engine.trust.exchange import Standing
from engine.trust.identity import host_name, user_name
from engine.trust.protocol import Status


@dataclass(frozen=True, slots=True)
class CfProbe:
    """A CFEngine server's key as presented, judged against ``ppkeys``."""

    host: str
    port: int
    fingerprint: str  # MD5=… as cf-key prints it
    known: bool  # ppkeys/root-MD5=….pub exists
    changed_from: str | None  # the key trusted for this host:port until now, when it differs
    n: int
    e: int
    server_host: str = ""  # CFEngine servers do not name themselves before identification
    cfengine: bool = True

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def name(self) -> str:
        return self.address


@contextlib.contextmanager
def _tls_context(ppkeys: Path) -> Iterator[ssl.SSLContext]:
    """A client context presenting our RSA key when we have one (made in a temp
    directory: nothing is written to ``ppkeys``), none otherwise."""
    if not rsakey.has_key(ppkeys):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        yield ctx
        return
    if rsakey.cert_is_current(ppkeys):
        yield client_context(ppkeys)
        return
    tmp = Path(tempfile.mkdtemp(prefix="vigil-cfkey-"))
    try:
        shutil.copyfile(ppkeys / rsakey.PRIV, tmp / rsakey.PRIV)
        shutil.copyfile(ppkeys / rsakey.PUB, tmp / rsakey.PUB)
        rsakey.make_cert(tmp)
        yield client_context(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _handshake(ctx: ssl.SSLContext, host: str, port: int, timeout: float) -> ssl.SSLSocket:
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise RemoteError(f"Unable to establish connection to '{host}:{port}': "
                          f"{exc.strerror or exc}") from None
    try:
        return ctx.wrap_socket(raw, server_hostname=None)
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        raise RemoteError(f"Failed to establish TLS connection to '{host}:{port}': {exc}") from None


def probe(workdir: str | Path, host: str, port: int = DEFAULT_PORT, timeout: float = 10.0) -> CfProbe:
    """Connect, take the server's RSA key from the handshake, disconnect (writes nothing).
    :class:`~engine.cfnet.client.NotCFEngine` when the server is a vigil one."""
    ppkeys = Path(workdir) / "ppkeys"
    with _tls_context(ppkeys) as ctx:
        sock = _handshake(ctx, host, port, timeout)
        try:
            n, e = server_key(sock, host, port)
        finally:
            with contextlib.suppress(OSError):
                sock.close()
    key = judge(ppkeys, host, port, n, e)
    return CfProbe(host, port, key.digest, key.known, key.changed_from, n, e)


def own_digest(workdir: str | Path) -> str:
    try:
        return file_digest(Path(workdir) / "ppkeys" / rsakey.PUB)
    except KeyReadError:
        return "(no RSA key)"


def standing(workdir: str | Path, host: str, port: int = DEFAULT_PORT,
             timeout: float = 10.0) -> Standing:
    """Identify to the server and report whether it welcomed us (writes nothing)."""
    ppkeys = Path(workdir) / "ppkeys"
    peer = f"{host}:{port}"
    me, mine = host_name(), own_digest(workdir)
    if not rsakey.has_key(ppkeys):
        return Standing(Status.DENIED, peer, me, mine,
                        "this host has no RSA key (ppkeys/localhost.priv): a CFEngine server "
                        "cannot identify it")
    with _tls_context(ppkeys) as ctx:
        sock = _handshake(ctx, host, port, timeout)
        try:
            key = judge(ppkeys, host, port, *server_key(sock, host, port))
            if not key.known:
                return Standing(Status.DENIED, peer, me, mine,
                                f"its key {key.digest} is not trusted here, so this host did "
                                "not identify itself")
            identify(sock, host, port, user_name(), 3)
        except TrustError as exc:
            return Standing(Status.DENIED, peer, me, mine,
                            f"{exc}. On {host}: 'cf-key -t' with this host's key, or "
                            "trustkeysfrom/allowconnects/allowusers in its body server control")
        finally:
            with contextlib.suppress(OSError):
                sock.close()
    return Standing(Status.TRUSTED, peer, me, mine)


__all__ = ["CfProbe", "own_digest", "probe", "standing"]
