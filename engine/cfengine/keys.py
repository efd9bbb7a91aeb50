"""CFEngine's RSA keys and ``state/cf_lastseen.lmdb``, read as cf-key reads them.

* ``ppkeys/localhost.pub`` holds this host's key as PEM, PKCS#1 (``RSA PUBLIC KEY``);
  peers' keys are ``ppkeys/<user>-MD5=<hex>.pub`` (or ``SHA=``).
* A key's digest is MD5 (or SHA-256) over the modulus' and then the exponent's
  big-endian bytes, printed as ``MD5=<hex>`` — what ``cf-key -p`` prints.
* ``cf_lastseen.lmdb`` maps ``a<address>`` -> key, ``k<key>`` -> address and
  ``q<i|o><key>`` -> when that peer was last seen incoming or outgoing (an 8-byte time
  followed by four doubles of connection-interval statistics).
"""

from __future__ import annotations

import hashlib
import re
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from engine.state.lmdbstore import Unreadable, reading

_PEER_FILE = re.compile(r"(?:(?P<user>[^-]+)-)?(?P<digest>(?:MD5|SHA)=[0-9a-f]+)\.pub\Z")


class KeyReadError(Exception):
    """A key file that is not a public key CFEngine (or vigil) writes."""


def _int_bytes(i: int) -> bytes:
    return i.to_bytes((i.bit_length() + 7) // 8 or 1, "big")


def load_rsa_numbers(data: bytes, where: str = "key") -> tuple[int, int]:
    """(modulus, exponent) of an RSA public key in PEM (PKCS#1 ``RSA PUBLIC KEY`` or
    SubjectPublicKeyInfo ``PUBLIC KEY``) or DER form."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import (
        load_der_public_key,
        load_pem_public_key,
    )

    try:
        key = load_pem_public_key(data) if b"-----BEGIN" in data else load_der_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyReadError(f"{where}: not a public key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyReadError(f"{where}: not an RSA key")
    n = key.public_numbers()
    return n.n, n.e


def digest(n: int, e: int, kind: str = "MD5") -> str:
    """``MD5=<hex>`` (or ``SHA=<hex>``) as cf-key prints it."""
    h = hashlib.md5 if kind == "MD5" else hashlib.sha256
    return f"{kind}={h(_int_bytes(n) + _int_bytes(e)).hexdigest()}"


def file_digest(path: Path, kind: str = "MD5") -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyReadError(f"{path}: {exc.strerror}") from None
    return digest(*load_rsa_numbers(data, str(path)), kind=kind)


@dataclass(frozen=True, slots=True)
class SeenEntry:
    """One line of ``cf-key -s``: a peer's key seen in one direction."""

    direction: str  # "incoming" | "outgoing"
    address: str
    key: str
    last_seen: float


def read_lastseen(path: Path) -> list[SeenEntry]:
    """Every ``q`` entry of ``cf_lastseen.lmdb`` with the address its key was seen at,
    newest first; an unreadable database reads as empty."""
    try:
        return lastseen_entries(path)
    except (Unreadable, OSError):
        return []


def lastseen_entries(path: Path) -> list[SeenEntry]:
    """:func:`read_lastseen`, raising ``Unreadable``/``OSError`` for a database it cannot read."""
    addr: dict[str, str] = {}
    quality: list[tuple[str, str, float]] = []
    with reading(path) as txn:
        if txn is None:
            return []
        for k, v in txn.cursor():
            key = bytes(k).rstrip(b"\0").decode("utf-8", "replace")
            val = bytes(v)
            if key.startswith("k"):
                addr[key[1:]] = val.rstrip(b"\0").decode("utf-8", "replace")
            elif key.startswith("q") and len(key) > 2 and len(val) >= 8:
                (when,) = struct.unpack_from("<q", val)
                quality.append((key[1], key[2:], float(when)))
    out = [
        SeenEntry("incoming" if d == "i" else "outgoing", addr.get(k, ""), k, t)
        for d, k, t in quality
    ]
    out.sort(key=lambda s: (-s.last_seen, s.key))
    return out


@dataclass(frozen=True, slots=True)
class PeerFile:
    user: str
    key: str
    path: Path


def trusted_files(ppkeys: Path) -> list[PeerFile]:
    """``ppkeys/<user>-MD5=….pub`` files: the peers this host trusts."""
    out = []
    try:
        names = sorted(p.name for p in ppkeys.iterdir())
    except OSError:
        return []
    for name in names:
        m = _PEER_FILE.match(name)
        if m:
            out.append(PeerFile(m.group("user") or "", m.group("digest"), ppkeys / name))
    return out


_NAMES: dict[str, tuple[float, str]] = {}


def host_name(address: str, timeout: float = 0.3) -> str:
    """The name an address resolves back to (as cf-key -s shows it), cached for 10 minutes."""
    if not address:
        return ""
    hit = _NAMES.get(address)
    if hit and time.monotonic() - hit[0] < 600:
        return hit[1]
    old = socket.getdefaulttimeout()
    try:
        socket.setdefaulttimeout(timeout)
        name = socket.gethostbyaddr(address)[0]
    except OSError:
        name = ""
    finally:
        socket.setdefaulttimeout(old)
    _NAMES[address] = (time.monotonic(), name)
    return name
