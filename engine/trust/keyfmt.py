"""Ed25519 public keys and PEM, as bytes and text: no ``cryptography``, no files.

The formats :mod:`engine.trust.keys` (key files), :mod:`engine.trust.der`
(certificates' keys) and :mod:`engine.trust.cert` share, kept apart from key
files so that none of them imports another in a loop.
"""

from __future__ import annotations

import base64

# DER of SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) } before the key.
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
RAW_KEY_LEN = 32


class KeyFileError(Exception):
    """A key file is missing, malformed, or not Ed25519."""


def pem_encode(label: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def pem_decode(text: str, label: str) -> bytes:
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    start = text.find(begin)
    stop = text.find(end, start + 1)
    if start < 0 or stop < 0:
        raise KeyFileError(f"no '{label}' PEM block")
    body = "".join(text[start + len(begin) : stop].split())
    try:
        return base64.b64decode(body, validate=True)
    except ValueError as e:
        raise KeyFileError(f"bad PEM base64: {e}") from None


def raw_from_spki(der: bytes) -> bytes:
    """The 32 key bytes of an Ed25519 SubjectPublicKeyInfo; anything else fails."""
    if len(der) != len(ED25519_SPKI_PREFIX) + RAW_KEY_LEN or not der.startswith(
        ED25519_SPKI_PREFIX
    ):
        raise KeyFileError("not an Ed25519 public key (SubjectPublicKeyInfo)")
    return der[len(ED25519_SPKI_PREFIX) :]


def spki_from_raw(raw: bytes) -> bytes:
    if len(raw) != RAW_KEY_LEN:
        raise KeyFileError("an Ed25519 public key is 32 bytes")
    return ED25519_SPKI_PREFIX + raw
