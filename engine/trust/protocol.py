"""The vigil wire protocol, version 1 (see docs/protocol.md).

After the TLS handshake the server speaks first with a greeting carrying a fresh
32-byte nonce; the client answers with a hello naming its host, user and public
key, and an Ed25519 signature over :func:`auth_transcript`. Binding the signature
to the nonce, the TLS channel binding *and* the server's key means a hello cannot
be replayed on another connection nor relayed to another server. The server
replies with the client's standing (:class:`Status`); only ``trusted`` clients
may send requests, the others learn their status and are disconnected.
"""

from __future__ import annotations

import base64
import binascii
import struct
from enum import StrEnum
from typing import Any

PROTOCOL = "vigil"
VERSIONS = (1,)
VERSION = 1
NONCE_LEN = 32
AUTH_CONTEXT = b"vigil-auth-v1\x00"
DEFAULT_PORT = 5310  # CFEngine keeps 5308, so both can run side by side


class Status(StrEnum):
    """What a server makes of a client, sent in reply to its hello."""

    TRUSTED = "trusted"
    PENDING = "pending"  # key filed for an admin to accept
    REJECTED = "rejected"  # an admin rejected this key
    CHANGED = "changed"  # a known host name came with another key
    DENIED = "denied"  # address refused (allowconnects/denyconnects), or bad hello


class Op(StrEnum):
    HELLO = "hello"
    WHOAMI = "whoami"
    STAT = "stat"
    DIGEST = "digest"
    GET = "get"
    LIST = "list"
    RUN = "run"
    BYE = "bye"


class ProtocolError(Exception):
    """The peer broke the protocol; the connection is dropped."""


def _lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def auth_transcript(
    nonce: bytes,
    binding: bytes,
    server_key: bytes,
    client_key: bytes,
    host: str,
    user: str,
) -> bytes:
    """The bytes a client signs to prove its key on this connection."""
    return AUTH_CONTEXT + b"".join(
        _lp(x)
        for x in (nonce, binding, server_key, client_key, host.encode(), user.encode())
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any, length: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise ProtocolError("expected base64 text")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("bad base64") from None
    if length is not None and len(data) != length:
        raise ProtocolError(f"expected {length} bytes")
    return data


def want_str(msg: dict[str, Any], key: str, limit: int = 4096) -> str:
    v = msg.get(key)
    if not isinstance(v, str) or len(v) > limit or "\x00" in v:
        raise ProtocolError(f"'{key}' must be a string")
    return v


def want_int(msg: dict[str, Any], key: str, default: int = 0) -> int:
    v = msg.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ProtocolError(f"'{key}' must be a non-negative integer")
    return v
