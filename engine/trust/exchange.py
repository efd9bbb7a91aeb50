"""The console's key exchange, as three blocking calls (run them in a thread).

1. :func:`probe` connects and learns the server's key without trusting it;
2. the admin compares ``probe.fingerprint`` with ``vigil key --print`` on the peer
   and, if it matches, calls :func:`trust`;
3. :func:`standing` connects again and reports our standing on the peer
   (:class:`Standing`): ``trusted``, ``pending`` (an admin there must accept us),
   ``rejected``, ``changed``, or ``denied``, with the peer's reason, and
   :meth:`Standing.describe` words it claiming only what was checked: whose key
   is trusted where, never that copies or runs will work (the peer's access
   rules decide those, and no request was tried). :func:`peer_has_us_pending` is
   the status alone.

Both sides are named as each names itself: the peer by the name it gives in its
greeting and the address dialled (``hostA (127.0.0.1:5310)``), this host by the
name it gives in its hello (``VIGIL_HOSTNAME`` or the host name), which is the
name the peer files and lists its key under.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.trust import frames
from engine.trust.client import (
    RemoteError,
    ServerKey,
    TrustError,
    client_settings,
    connect,
    open_tls,
    server_names,
    split_server,
)
from engine.trust.identity import host_name
from engine.trust.keys import KeyFileError, fingerprint
from engine.trust.protocol import Status
from engine.trust.store import Peer, PeerState, TrustStore
from engine.trust.tls import peer_key

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,252}")


@dataclass(frozen=True, slots=True)
class PeerProbe:
    """A server's key as presented, judged against our trust store."""

    host: str
    port: int
    fingerprint: str
    known: bool  # already trusted
    changed_from: str | None  # the key we trust for this host:port, when it differs
    raw_key: bytes
    server_host: str = ""  # the name the server gives itself

    @property
    def cfengine(self) -> bool:
        """A vigil server (:class:`engine.cfnet.exchange.CfProbe` says True)."""
        return False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def name(self) -> str:
        """The peer as it names itself, and where: ``hostA (10.0.0.17:5310)``."""
        return peer_name(self.server_host, self.host, self.port)


def peer_name(server_host: str, host: str, port: int) -> str:
    where = f"{host}:{port}"
    return f"{server_host} ({where})" if server_host and server_host != host else where


def _greeting_host(sock: Any, max_frame: int) -> str:
    """The name the server gives itself in its greeting, or "" (never fails)."""
    try:
        greeting = frames.recv_frame(sock, max_frame).message()
    except (OSError, frames.FrameError, ValueError):
        return ""
    name = greeting.get("host")
    return name if isinstance(name, str) and _NAME_RE.fullmatch(name) else ""


def probe(workdir: str | os.PathLike[str], host: str, port: int | None = None) -> PeerProbe:
    """Connect, take the server's key from the TLS handshake, disconnect."""
    wd = Path(workdir)
    settings = client_settings(wd)
    if port is None:
        host, port = split_server(host, settings.port)
    sock = open_tls(host, port, settings.connect_timeout)
    try:
        raw = peer_key(sock)
        server_host = _greeting_host(sock, settings.max_frame)
    except KeyFileError as e:
        raise TrustError(f"server {host}:{port} presented no usable key: {e}") from None
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    fp = fingerprint(raw)
    store = TrustStore(wd / "ppkeys")
    known = store.is_trusted(fp)
    changed = None
    if not known:
        others = [
            p for p in store.trusted_for_name(*server_names(host, port)) if p.fingerprint != fp
        ]
        changed = others[0].fingerprint if others else None
    return PeerProbe(host, port, fp, known, changed, raw, server_host)


def trust(workdir: str | os.PathLike[str], probe: PeerProbe, host: str | None = None) -> Peer:
    """Trust the probed key under ``host`` (default ``host:port``). A changed key
    replaces nothing by itself: the old key stays trusted until removed."""
    store = TrustStore(Path(workdir) / "ppkeys")
    return store.add(probe.raw_key, PeerState.TRUSTED, host or probe.address, probe.host)


@dataclass(frozen=True, slots=True)
class Standing:
    """This host's standing on a peer, as the peer answered it."""

    status: str  # a Status value
    peer: str  # the peer as it names itself, and where (PeerProbe.name)
    me: str  # this host's name, as sent in the hello: the name the peer files us under
    fingerprint: str  # this host's key
    error: str = ""  # the peer's reason when it does not trust us
    seen_from: str = ""  # our address as the peer saw it (when it trusts us)

    def describe(self) -> str:
        """One or two lines for a person, claiming only what was checked."""
        us = f"this host ('{self.me}', {self.fingerprint})"
        if self.status == Status.TRUSTED:
            return (
                f"● {self.peer} trusts the key of {us}, and this host trusts its key.\n"
                f"  Only keys were checked: what may be copied or run either way is up to "
                f"each side's access rules (access:, allowusers, roles:)."
            )
        if self.status == Status.PENDING:
            return (
                f"◐ {self.peer} has the key of {us} PENDING: an admin there must accept it:\n"
                f"    vigil key --accept {self.fingerprint}"
            )
        reason = f": {self.error}" if self.error else ""
        if self.status == Status.REJECTED:
            return f"✗ {self.peer} has REJECTED the key of {us}{reason}"
        if self.status == Status.CHANGED:
            return f"✗ {self.peer} knows a DIFFERENT key for '{self.me}' (KEY CHANGED there){reason}"
        return f"✗ {self.peer} refused {us}{reason}"


def standing(workdir: str | os.PathLike[str], host: str, port: int | None = None,
             server_host: str = "") -> Standing:
    """Connect and ask where this host stands on the peer. The peer's key must
    be trusted here. ``server_host``: the peer's own name, if already known."""
    server = f"{host}:{port}" if port is not None else host
    conn = connect(workdir, server, require_trusted=False)
    try:
        seen_from = ""
        if conn.status == Status.TRUSTED:
            with contextlib.suppress(RemoteError, ValueError):
                seen_from = str(conn.whoami().get("address", ""))
        name = peer_name(conn.server.server_host or server_host, conn.server.host,
                         conn.server.port)
        return Standing(conn.status, name, host_name(), conn.client_fingerprint, conn.error,
                        seen_from)
    finally:
        conn.close()


def peer_has_us_pending(
    workdir: str | os.PathLike[str], host: str, port: int | None = None
) -> str:
    """Our standing on the peer (a ``Status`` value). The peer's key must be trusted."""
    return standing(workdir, host, port).status


__all__ = ["PeerProbe", "ServerKey", "Standing", "peer_has_us_pending", "peer_name", "probe",
           "standing", "trust"]
