"""Just enough DER to take the public key out of an X.509 certificate.

The client learns the server's key from the certificate the server presented in
the TLS handshake (OpenSSL has already checked, in TLS 1.3's CertificateVerify,
that the server holds the private key of that certificate). The walk is strict:
it follows the certificate's structure field by field and never searches for
byte patterns, so nothing in a name or extension can pass for the key.
"""

from __future__ import annotations

from engine.trust.keyfmt import KeyFileError, raw_from_spki

_SEQ = 0x30
_INT = 0x02
_V3 = 0xA0


def read_tlv(der: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at ``pos``."""
    if pos + 2 > end:
        raise KeyFileError("truncated DER element")
    tag = der[pos]
    if tag & 0x1F == 0x1F:
        raise KeyFileError("unsupported DER tag")
    first = der[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > end:
            raise KeyFileError("bad DER length")
        length = int.from_bytes(der[pos : pos + n], "big")
        pos += n
    if pos + length > end:
        raise KeyFileError("truncated DER element")
    return tag, pos, pos + length


def spki_of_cert(der: bytes) -> bytes:
    """The SubjectPublicKeyInfo element (with its header) of a DER certificate."""
    tag, start, end = read_tlv(der, 0, len(der))
    if tag != _SEQ or end != len(der):
        raise KeyFileError("not a certificate")
    tag, pos, tbs_end = read_tlv(der, start, end)
    if tag != _SEQ:
        raise KeyFileError("not a certificate")
    tag, _s, e = read_tlv(der, pos, tbs_end)
    if tag == _V3:
        pos = e
        tag, _s, e = read_tlv(der, pos, tbs_end)
    if tag != _INT:
        raise KeyFileError("certificate has no serial number")
    pos = e
    for _field in ("signature", "issuer", "validity", "subject"):
        tag, _s, e = read_tlv(der, pos, tbs_end)
        if tag != _SEQ:
            raise KeyFileError(f"certificate {_field} is malformed")
        pos = e
    tag, _s, e = read_tlv(der, pos, tbs_end)
    if tag != _SEQ:
        raise KeyFileError("certificate has no public key")
    return der[pos:e]


def raw_key_of_cert(der: bytes) -> bytes:
    """The raw Ed25519 key of a DER certificate; KeyFileError for any other key."""
    return raw_from_spki(spki_of_cert(der))
