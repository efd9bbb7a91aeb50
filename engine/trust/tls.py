"""TLS contexts for serverd and its clients (stdlib ``ssl``, TLS 1.3 only).

Identity is the Ed25519 host key, never a CA or a DNS name:

* the server presents ``ppkeys/vigil.cert``, a self-signed certificate of its
  host key; the client does not chain-verify it (there is nothing to chain to)
  but takes the key out of it after the handshake and checks that key's
  fingerprint against its trust store. TLS 1.3's CertificateVerify, which
  OpenSSL always checks, proves the server holds that key;
* the client proves its key inside the encrypted session, by signing the
  server's fresh nonce together with the TLS channel binding (see
  ``engine.trust.protocol``), because Python's ``ssl`` has no verify callback and
  a server could otherwise not learn an unknown client's key to file it as
  pending. No session tickets are issued, so every connection is a full handshake.

``OP_NO_TICKET`` alone is not enough for that under TLS 1.3: OpenSSL then issues
*stateful* tickets and keeps every session in the server's cache (up to 20,480 of
them, about 1 KiB each, so serverd's RSS grew by 1 MB per 1,000 connections).
``num_tickets = 0`` sends none, and so caches none.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from engine.trust.der import raw_key_of_cert
from engine.trust.keys import KeyFileError

CHANNEL_BINDING = "tls-unique"
# The server name (SNI) vigil's clients send: serverd shares its port with CFEngine's
# protocol and picks vigil's context when a ClientHello names it (``.invalid`` can
# never be a real host, RFC 2606). See docs/protocol.md, "One port, two protocols".
SERVER_NAME = "vigil.invalid"


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(str(cert), str(key))
    ctx.verify_mode = ssl.CERT_NONE  # clients authenticate in the protocol hello
    ctx.options |= ssl.OP_NO_TICKET
    ctx.num_tickets = 0  # no resumption, and no server-side session cache
    return ctx


def client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # identity is the key fingerprint, checked by peer_key()
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def peer_key(ssl_object: Any) -> bytes:
    """The raw Ed25519 key the peer proved in the handshake."""
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        raise KeyFileError("peer presented no certificate")
    return raw_key_of_cert(der)


def channel_binding(ssl_object: Any) -> bytes:
    cb = ssl_object.get_channel_binding(CHANNEL_BINDING)
    if not cb:
        raise ssl.SSLError("no TLS channel binding available")
    return bytes(cb)


def set_ssl_buffer_limit(max_size: int) -> int:
    """Lower asyncio's per-connection TLS read buffer (256 KiB by default).

    ``SSLProtocol.max_size`` is a class attribute and not public API; it is set
    from the ``serverd.ssl_max_size`` setting and a test watches that it still
    exists and still bounds memory. Returns the previous value (0 if absent).
    """
    from asyncio import sslproto

    previous = int(getattr(sslproto.SSLProtocol, "max_size", 0))
    if max_size > 0 and previous:
        sslproto.SSLProtocol.max_size = max_size
    return previous
