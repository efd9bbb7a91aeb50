"""The Ed25519 verifier serverd uses: libcrypto through ctypes, cryptography as fallback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519 as ced

from engine.trust import ed25519
from engine.trust.keys import verify

# RFC 8032, 7.1: (secret key, public key, message, signature)
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
        "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
        "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290"
        "ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]
L = 2**252 + 27742317777372353535851937790883648493  # the group order


def _libcrypto() -> ed25519.Verifier:
    check = ed25519.libcrypto_verifier()
    if check is None:
        pytest.skip("the ssl module's libcrypto has no usable Ed25519")
    return check


def _raw(key: ced.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.mark.parametrize(("secret", "public", "msg", "sig"), RFC8032)
def test_rfc8032_vectors(secret: str, public: str, msg: str, sig: str) -> None:
    key = ced.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert _raw(key).hex() == public and key.sign(bytes.fromhex(msg)).hex() == sig
    pub, m, s = bytes.fromhex(public), bytes.fromhex(msg), bytes.fromhex(sig)
    for check in (_libcrypto(), ed25519._cryptography_verify, verify):
        assert check(pub, s, m) is True
        assert check(pub, s, m + b"\x00") is False
        assert check(pub, s[:-1] + bytes([s[-1] ^ 0x40]), m) is False


def _cases() -> Iterator[tuple[str, bytes, bytes, bytes]]:
    for i in range(20):
        key = ced.Ed25519PrivateKey.generate()
        raw, msg = _raw(key), os.urandom(i * 37)
        sig = key.sign(msg)
        yield "good", raw, sig, msg
        yield "other message", raw, sig, msg + b"x"
        pos = i * 3 % 64
        yield "flipped bit", raw, sig[:pos] + bytes([sig[pos] ^ 1]) + sig[pos + 1 :], msg
        s = int.from_bytes(sig[32:], "little") + L  # same signature, non-canonical s
        if s < 2**256:
            yield "s + L", raw, sig[:32] + s.to_bytes(32, "little"), msg
        yield "other key", _raw(ced.Ed25519PrivateKey.generate()), sig, msg
        yield "short signature", raw, sig[:63], msg
        yield "long signature", raw, sig + b"\x00", msg
        yield "short key", raw[:31], sig, msg
    zero_sig = bytes(64)
    yield "identity key", bytes([1]) + bytes(31), zero_sig, b"m"
    yield "zero key", bytes(32), zero_sig, b"m"
    yield "not a point", bytes([2]) + bytes(31), zero_sig, b"m"
    yield "all ones", b"\xff" * 32, b"\xff" * 64, b"m"


def test_libcrypto_agrees_with_cryptography() -> None:
    check = _libcrypto()
    seen = set()
    for name, raw, sig, msg in _cases():
        expected = ed25519._cryptography_verify(raw, sig, msg)
        assert check(raw, sig, msg) is expected, name
        assert expected is (name == "good"), name
        seen.add(name)
    assert "s + L" in seen


def test_self_test_refuses_a_verifier_that_always_answers_the_same() -> None:
    assert ed25519.self_test(ed25519._cryptography_verify)
    assert not ed25519.self_test(lambda k, s, d: True)
    assert not ed25519.self_test(lambda k, s, d: False)

    def broken(k: bytes, s: bytes, d: bytes) -> bool:
        raise OSError("no library")

    assert not ed25519.self_test(broken)


def test_falls_back_to_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ed25519, "libcrypto_verifier", lambda: None)
    monkeypatch.setattr(ed25519, "_verifier", None)
    monkeypatch.setattr(ed25519, "_backend", "")
    assert ed25519.backend() == "cryptography"
    pub, msg, sig = (bytes.fromhex(RFC8032[1][i]) for i in (1, 2, 3))
    assert verify(pub, sig, msg) and not verify(pub, sig, msg + b"!")


def test_binds_libcrypto_lazily_and_once() -> None:
    _libcrypto()
    assert ed25519.backend() == "libcrypto"
    first = ed25519._verifier
    assert ed25519.backend() == "libcrypto" and ed25519._verifier is first
