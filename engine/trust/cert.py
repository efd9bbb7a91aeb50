"""The host certificate serverd presents in TLS: ``ppkeys/vigil.cert``.

A self-signed X.509 certificate of the Ed25519 host key. Nobody chain-verifies
it: a client takes the key out of it (``engine.trust.der``) and checks that key's
fingerprint, and TLS 1.3's CertificateVerify proves the server holds the key.

It is made together with the key (``vigil key``, ``vigil up``), so serverd only
reads it and never imports ``cryptography.x509``. serverd still checks it at
every start: a missing certificate (a workdir from before certificates were
made with the key), or one that does not carry the current public key (stale,
the key was replaced) or does not parse, is made again. serverd makes it in a
forked child (:func:`ensure_cert` with ``isolated=True``) so that its own
process never loads ``cryptography``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.atomicwrite import write_atomic
from engine.trust.der import raw_key_of_cert
from engine.trust.keyfmt import KeyFileError, pem_decode

if TYPE_CHECKING:
    from typing import Protocol

    class _CertPaths(Protocol):
        @property
        def cert(self) -> Path: ...

    class HostKey(Protocol):
        """What a certificate needs of :class:`engine.trust.keys.HostKey` (named by
        its shape: keys.py makes certificates, so cert.py does not import it)."""

        @property
        def paths(self) -> _CertPaths: ...
        @property
        def raw_public(self) -> bytes: ...
        def private_key(self) -> Any: ...

PEM_LABEL = "CERTIFICATE"
VALID_DAYS = 365 * 100


def cert_pem(private_key: Any, common_name: str) -> bytes:
    """A self-signed certificate (PEM) of an ``Ed25519PrivateKey``."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or "vigil")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .sign(private_key, None)
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def write_cert(path: Path, private_key: Any, common_name: str) -> None:
    write_atomic(path, cert_pem(private_key, common_name), mode=0o644)


def cert_key(path: Path) -> bytes | None:
    """The raw Ed25519 key in the certificate file; None if missing or malformed.

    The key is found by walking the certificate's structure (never by searching
    for bytes), so a name or an extension cannot pass for it."""
    try:
        return raw_key_of_cert(pem_decode(path.read_text("ascii"), PEM_LABEL))
    except (OSError, UnicodeDecodeError, KeyFileError):
        return None


def cert_matches(key: HostKey) -> bool:
    """True when the certificate file carries this host key."""
    return cert_key(key.paths.cert) == key.raw_public


def ensure_cert(key: HostKey, common_name: str, isolated: bool = False) -> Path:
    """The certificate of ``key``, made again when missing, malformed or stale.

    ``isolated`` makes it in a forked child (where ``os.fork`` exists), so the
    caller's process never imports ``cryptography``. KeyFileError when the private
    key cannot be read or does not match the public key."""
    path = key.paths.cert
    if cert_matches(key):
        return path
    if isolated and hasattr(os, "fork"):
        _in_child(key, common_name)
    else:
        write_cert(path, key.private_key(), common_name)
    if not cert_matches(key):
        raise KeyFileError(f"the certificate written to '{path}' does not carry the host key")
    return path


def _in_child(key: HostKey, common_name: str) -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: make the file, report, never return to the caller
        code = 1
        try:
            os.close(read_end)
            write_cert(key.paths.cert, key.private_key(), common_name)
            code = 0
        except BaseException as e:  # noqa: BLE001 - everything is reported to the parent
            os.write(write_end, (str(e) or type(e).__name__).encode("utf-8", "replace")[:4000])
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        message = f.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise KeyFileError(message or f"could not make the certificate '{key.paths.cert}'")
