"""Host keys, fingerprints, certificates, and `vigil key` for the host key."""

from __future__ import annotations

import base64
import datetime
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from engine.trust.der import raw_key_of_cert
from engine.trust.keys import (
    ED25519_SPKI_PREFIX,
    HostKey,
    KeyExistsError,
    KeyFileError,
    fingerprint,
    generate,
    is_fingerprint,
    load_public_file,
    verify,
)


def test_generate_writes_modes_and_refuses_overwrite(tmp_path: Path) -> None:
    fp = generate(tmp_path / "ppkeys")
    priv, pub = tmp_path / "ppkeys/vigil.priv", tmp_path / "ppkeys/vigil.pub"
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert stat.S_IMODE(pub.stat().st_mode) == 0o644
    assert priv.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    before = priv.read_bytes()
    with pytest.raises(KeyExistsError, match="A key file already exists at"):
        generate(tmp_path / "ppkeys")
    assert priv.read_bytes() == before
    assert is_fingerprint(fp) and fp == HostKey.load(tmp_path / "ppkeys").fingerprint


def test_fingerprint_is_sha256_of_raw_key_base64url() -> None:
    raw = bytes(range(32))
    digest = hashlib.sha256(raw).digest()
    assert fingerprint(raw) == "SHA256:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert len(fingerprint(raw)) == 7 + 43


def test_public_file_matches_cryptography(tmp_path: Path) -> None:
    generate(tmp_path)
    raw = load_public_file(tmp_path / "vigil.pub")
    key = serialization.load_pem_public_key((tmp_path / "vigil.pub").read_bytes())
    assert key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == raw


def test_non_ed25519_public_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "x.pub").write_bytes(pem)
    with pytest.raises(KeyFileError, match="not an Ed25519"):
        load_public_file(tmp_path / "x.pub")


def test_sign_and_verify(tmp_path: Path) -> None:
    generate(tmp_path)
    key = HostKey.load(tmp_path)
    sig = key.sign(b"message")
    assert verify(key.raw_public, sig, b"message")
    assert not verify(key.raw_public, sig, b"other")
    assert not verify(b"\x00" * 32, sig, b"message")


def test_cert_carries_the_host_key_and_is_reused(tmp_path: Path) -> None:
    generate(tmp_path)
    key = HostKey.load(tmp_path)
    cert_path = key.ensure_cert("hostA")
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert raw_key_of_cert(cert.public_bytes(serialization.Encoding.DER)) == key.raw_public
    mtime = cert_path.stat().st_mtime_ns
    assert key.ensure_cert("hostA") == cert_path and cert_path.stat().st_mtime_ns == mtime


def _cert(key: ed25519.Ed25519PrivateKey, cn: str) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(7)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, None).public_bytes(serialization.Encoding.DER)
    )


def test_der_walk_is_not_fooled_by_a_key_lookalike_in_the_subject() -> None:
    real = ed25519.Ed25519PrivateKey.generate()
    fake = b"A" * 32
    der = _cert(real, (ED25519_SPKI_PREFIX + fake).decode("latin-1"))
    assert ED25519_SPKI_PREFIX + fake in der  # the lookalike is really there
    raw_real = real.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert raw_key_of_cert(der) == raw_real


@pytest.mark.parametrize("cut", [0, 1, 10, 100])
def test_der_walk_rejects_truncated_certificates(cut: int) -> None:
    der = _cert(ed25519.Ed25519PrivateKey.generate(), "x")
    with pytest.raises(KeyFileError):
        raw_key_of_cert(der[:cut])


def test_vigil_key_cli_generates_once_and_prints(make_host, tmp_path: Path) -> None:
    from tests.engine.trust.conftest import Host

    h = Host("hostA", tmp_path / "A", "")
    first = h.vigil("key")
    assert first.returncode == 0, first.stderr
    again = h.vigil("key")
    assert again.returncode == 1
    assert f"A key file already exists at {h.wd}/ppkeys/vigil.p" in again.stderr
    printed = h.vigil("key", "--print")
    assert printed.returncode == 0
    assert printed.stdout.strip() == HostKey.load(h.wd / "ppkeys").fingerprint
