"""Host keys: one Ed25519 key pair per workdir, and key fingerprints.

Files: ``ppkeys/vigil.priv`` (PKCS#8 PEM, unencrypted, mode 0600) and
``ppkeys/vigil.pub`` (SubjectPublicKeyInfo PEM, 0644). serverd also presents
``ppkeys/vigil.cert``, a self-signed certificate of the host key, in the TLS
handshake; it is made with the key (see ``engine.trust.cert``). cf-key's names,
``ppkeys/localhost.priv``/``.pub``, hold the host's RSA key for CFEngine peers
(``engine.cfnet.rsakey``). Workdirs made before the RSA key came keep their Ed25519
key under ``localhost.*``; :func:`key_stem` finds it there.

A fingerprint is ``SHA256:`` followed by the unpadded URL-safe base64 of the
SHA-256 of the **raw 32-byte Ed25519 public key** (43 characters), e.g.
``SHA256:q5oZ...``. The raw key rather than the SPKI DER is hashed because it is
the key itself, independent of any encoding; URL-safe base64 because the
fingerprint doubles as a file name in the trust store (no ``/``).

Reading and writing public keys needs no ``cryptography``: an Ed25519 SPKI is a
fixed 12-byte prefix and the 32 key bytes, checked strictly. ``cryptography`` is
imported only to generate keys, sign, and make the certificate (``engine.trust.cert``);
signatures are verified through the ``ssl`` module's libcrypto
(``engine.trust.ed25519``), so serverd, which only verifies, never loads it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.atomicwrite import write_atomic
from engine.trust.keyfmt import (  # re-exported: the names keys.py has always offered
    ED25519_SPKI_PREFIX,  # noqa: F401
    RAW_KEY_LEN,  # noqa: F401
    KeyFileError,
    pem_decode,
    pem_encode,
    raw_from_spki,
    spki_from_raw,
)
from engine.workdir import make_dirs

FINGERPRINT_RE = re.compile(r"^SHA256:[A-Za-z0-9_-]{43}$")
_PEM_PUB = "PUBLIC KEY"


class KeyExistsError(KeyFileError):
    """Raised instead of overwriting a host key."""


def fingerprint(raw_public: bytes) -> str:
    """``SHA256:<base64url(sha256(raw key))>`` without padding."""
    digest = hashlib.sha256(raw_public).digest()
    return "SHA256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_fingerprint(text: str) -> bool:
    return bool(FINGERPRINT_RE.match(text))


def public_pem(raw: bytes) -> str:
    return pem_encode(_PEM_PUB, spki_from_raw(raw))


def load_public_file(path: Path) -> bytes:
    """Raw public key from a ``.pub`` PEM file (ours or a peer's)."""
    try:
        text = path.read_text("ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise KeyFileError(f"cannot read public key '{path}': {e}") from None
    return raw_from_spki(pem_decode(text, _PEM_PUB))


VIGIL_STEM = "vigil"
LEGACY_STEM = "localhost"


def key_stem(ppkeys: Path) -> str:
    """``vigil`` (the Ed25519 key's files), or ``localhost`` in a workdir whose
    ``localhost.pub`` is an Ed25519 key from before the RSA key took that name."""
    if (ppkeys / f"{VIGIL_STEM}.pub").exists():
        return VIGIL_STEM
    try:
        load_public_file(ppkeys / f"{LEGACY_STEM}.pub")
    except KeyFileError:
        return VIGIL_STEM
    return LEGACY_STEM


@dataclass(frozen=True, slots=True)
class KeyPaths:
    priv: Path
    pub: Path
    cert: Path

    @classmethod
    def of(cls, ppkeys: Path, stem: str | None = None) -> KeyPaths:
        stem = stem or key_stem(ppkeys)
        return cls(ppkeys / f"{stem}.priv", ppkeys / f"{stem}.pub", ppkeys / f"{stem}.cert")


def generate(ppkeys: Path, stem: str | None = None, common_name: str | None = None) -> str:
    """Make a key pair and its TLS certificate; returns the fingerprint.

    Never overwrites a key (KeyExistsError); a certificate left from an earlier
    key is replaced. ``common_name`` (default: this host's name) goes into the
    certificate, where nothing checks it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from engine.trust.cert import write_cert
    from engine.trust.identity import host_name

    paths = KeyPaths.of(ppkeys, stem)
    for p in (paths.pub, paths.priv):
        if p.exists():
            raise KeyExistsError(f"A key file already exists at {p}")
    make_dirs(ppkeys, 0o700)
    key = ed25519.Ed25519PrivateKey.generate()
    priv_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    write_atomic(paths.priv, priv_pem, mode=0o600, exclusive=True)
    write_atomic(paths.pub, public_pem(raw).encode("ascii"), mode=0o644, exclusive=True)
    write_cert(paths.cert, key, host_name() if common_name is None else common_name)
    return fingerprint(raw)


class HostKey:
    """The local key pair, loaded lazily; signing imports ``cryptography``."""

    def __init__(self, ppkeys: Path, stem: str | None = None) -> None:
        self.paths = KeyPaths.of(ppkeys, stem)
        self.raw_public = load_public_file(self.paths.pub)
        self.fingerprint = fingerprint(self.raw_public)
        self._private: Any = None

    @classmethod
    def load(cls, ppkeys: Path) -> HostKey:
        paths = KeyPaths.of(ppkeys)
        if not paths.pub.exists() or not paths.priv.exists():
            raise KeyFileError(
                f"No public/private key pair is loaded from '{ppkeys}', "
                "please create one by running 'vigil key'"
            )
        return cls(ppkeys)

    def private_key(self) -> Any:
        """The ``Ed25519PrivateKey``, checked against the public key file."""
        if self._private is None:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import ed25519

            try:
                key = serialization.load_pem_private_key(self.paths.priv.read_bytes(), None)
            except (OSError, ValueError, TypeError) as e:
                raise KeyFileError(f"cannot load private key '{self.paths.priv}': {e}") from None
            if not isinstance(key, ed25519.Ed25519PrivateKey):
                raise KeyFileError(f"'{self.paths.priv}' is not an Ed25519 key")
            pub = key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            if pub != self.raw_public:
                raise KeyFileError(f"'{self.paths.priv}' does not match '{self.paths.pub}'")
            self._private = key
        return self._private

    def sign(self, data: bytes) -> bytes:
        return bytes(self.private_key().sign(data))

    def ensure_cert(self, common_name: str, isolated: bool = False) -> Path:
        """The TLS certificate, (re)made when missing or stale (``engine.trust.cert``)."""
        from engine.trust.cert import ensure_cert

        return ensure_cert(self, common_name, isolated=isolated)


def verify(raw_public: bytes, signature: bytes, data: bytes) -> bool:
    """Ed25519 signature check; False for any bad key or signature."""
    from engine.trust.ed25519 import verify as ed25519_verify

    return ed25519_verify(raw_public, signature, data)


def local_key_exists(ppkeys: Path) -> bool:
    paths = KeyPaths.of(ppkeys)
    return paths.pub.exists() and paths.priv.exists()


def ensure_dir(path: Path) -> None:
    make_dirs(path, 0o700)
    os.chmod(path, 0o700)
