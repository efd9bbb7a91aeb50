"""The console's key exchange, as three blocking calls (run them in a thread).

1. :func:`probe` connects and learns the server's key without trusting it;
2. the admin compares ``probe.fingerprint`` with ``vigil key --print`` on the peer
   and, if it matches, calls :func:`trust`;
3. :func:`peer_has_us_pending` connects again and reports our standing on the
   peer: ``trusted``, ``pending`` (an admin there must accept us), ``rejected``,
   ``changed``, or ``denied``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from engine.trust.client import (
    ServerKey,
    TrustError,
    client_settings,
    connect,
    open_tls,
    server_names,
    split_server,
)
from engine.trust.keys import KeyFileError, fingerprint
from engine.trust.store import Peer, PeerState, TrustStore
from engine.trust.tls import peer_key


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
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def probe(workdir: str | os.PathLike[str], host: str, port: int | None = None) -> PeerProbe:
    """Connect, take the server's key from the TLS handshake, disconnect."""
    wd = Path(workdir)
    settings = client_settings(wd)
    if port is None:
        host, port = split_server(host, settings.port)
    sock = open_tls(host, port, settings.connect_timeout)
    try:
        raw = peer_key(sock)
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
    return PeerProbe(host, port, fp, known, changed, raw)


def trust(workdir: str | os.PathLike[str], probe: PeerProbe, host: str | None = None) -> Peer:
    """Trust the probed key under ``host`` (default ``host:port``). A changed key
    replaces nothing by itself: the old key stays trusted until removed."""
    store = TrustStore(Path(workdir) / "ppkeys")
    return store.add(probe.raw_key, PeerState.TRUSTED, host or probe.address, probe.host)


def peer_has_us_pending(
    workdir: str | os.PathLike[str], host: str, port: int | None = None
) -> str:
    """Our standing on the peer (a ``Status`` value). The peer's key must be trusted."""
    server = f"{host}:{port}" if port is not None else host
    conn = connect(workdir, server, require_trusted=False)
    try:
        return conn.status
    finally:
        conn.close()


__all__ = ["PeerProbe", "ServerKey", "peer_has_us_pending", "probe", "trust"]
