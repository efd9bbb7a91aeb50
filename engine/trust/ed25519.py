"""Ed25519 signature checks through the libcrypto that ``ssl`` already has loaded.

serverd verifies a signed hello on every connection. ``cryptography`` does that
with ``EVP_DigestVerifyInit`` + ``EVP_DigestVerify`` of the OpenSSL it carries in
its own 14 MB extension; importing it costs the server 6-8 MB of RSS for one
function. The stdlib ``_ssl`` module is linked against the system's libcrypto,
which has the same two calls, so this module calls them there with ``ctypes``
(about 0.3 MB): the same algorithm, by the same library family, as the TLS
handshake itself.

The library is bound on first use, never at import. The symbols are looked up
through ``_ssl``'s own handle, so they resolve to the libcrypto ``ssl`` uses and
no second copy of OpenSSL is loaded. Before the binding is used it must pass the
RFC 8032 test vectors (a good signature accepted, a bad one refused); if
``ctypes``, a symbol or that self-test fails, :func:`verify` falls back to
``cryptography``, so a check is never skipped and never weaker than before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

PUBLIC_KEY_LEN = 32
SIGNATURE_LEN = 64
_NID_ED25519 = 1087  # EVP_PKEY_ED25519 (OpenSSL 1.1.1 and later)

# RFC 8032, section 7.1, TEST 2 (one-byte message 0x72).
_TEST_KEY = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
_TEST_MSG = bytes.fromhex("72")
_TEST_SIG = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)

Verifier = Callable[[bytes, bytes, bytes], bool]

_lock = threading.Lock()
_verifier: Verifier | None = None
_backend = ""


class _LibCrypto:
    """``EVP_DigestVerify`` for one Ed25519 key at a time, through ctypes."""

    def __init__(self, lib: Any) -> None:
        import ctypes

        vp, cp, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
        self._new_key = lib.EVP_PKEY_new_raw_public_key
        self._new_key.argtypes = [ctypes.c_int, vp, cp, sz]
        self._new_key.restype = vp
        self._free_key = lib.EVP_PKEY_free
        self._free_key.argtypes = [vp]
        self._free_key.restype = None
        self._new_ctx = lib.EVP_MD_CTX_new
        self._new_ctx.argtypes = []
        self._new_ctx.restype = vp
        self._free_ctx = lib.EVP_MD_CTX_free
        self._free_ctx.argtypes = [vp]
        self._free_ctx.restype = None
        self._init = lib.EVP_DigestVerifyInit
        self._init.argtypes = [vp, vp, vp, vp, vp]
        self._init.restype = ctypes.c_int
        self._verify = lib.EVP_DigestVerify
        self._verify.argtypes = [vp, cp, sz, cp, sz]
        self._verify.restype = ctypes.c_int
        self._clear = lib.ERR_clear_error
        self._clear.argtypes = []
        self._clear.restype = None

    def __call__(self, raw_public: bytes, signature: bytes, data: bytes) -> bool:
        if len(raw_public) != PUBLIC_KEY_LEN or len(signature) != SIGNATURE_LEN:
            return False
        key = self._new_key(_NID_ED25519, None, raw_public, PUBLIC_KEY_LEN)
        if not key:
            self._clear()
            return False
        ctx = self._new_ctx()
        try:
            ok = bool(ctx) and self._init(ctx, None, None, None, key) == 1 and (
                self._verify(ctx, signature, SIGNATURE_LEN, data, len(data)) == 1
            )
        finally:
            if ctx:
                self._free_ctx(ctx)
            self._free_key(key)
        if not ok:
            self._clear()  # leave no error on this thread's queue for the ssl module
        return ok


def _cryptography_verify(raw_public: bytes, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        ed25519.Ed25519PublicKey.from_public_bytes(raw_public).verify(signature, data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def self_test(check: Verifier) -> bool:
    """True when ``check`` accepts the RFC 8032 vector and refuses altered ones."""
    bad_sig = _TEST_SIG[:10] + bytes([_TEST_SIG[10] ^ 1]) + _TEST_SIG[11:]
    try:
        return (
            check(_TEST_KEY, _TEST_SIG, _TEST_MSG) is True
            and check(_TEST_KEY, bad_sig, _TEST_MSG) is False
            and check(_TEST_KEY, _TEST_SIG, b"\x73") is False
            and check(_TEST_KEY, _TEST_SIG[:63], _TEST_MSG) is False
        )
    except Exception:
        return False


def libcrypto_verifier() -> Verifier | None:
    """The ctypes verifier bound to ``ssl``'s libcrypto, or None where unavailable."""
    try:
        import _ssl
        import ctypes

        lib = ctypes.CDLL(getattr(_ssl, "__file__", None))
        check = _LibCrypto(lib)
    except (ImportError, OSError, AttributeError):
        return None
    return check if self_test(check) else None


def _choose() -> Verifier:
    global _verifier, _backend
    with _lock:
        if _verifier is None:
            check = libcrypto_verifier()
            _verifier, _backend = (check, "libcrypto") if check else (
                _cryptography_verify, "cryptography"
            )
        return _verifier


def verify(raw_public: bytes, signature: bytes, data: bytes) -> bool:
    """Ed25519 signature check; False for any bad key or signature."""
    check = _verifier or _choose()
    return check(bytes(raw_public), bytes(signature), bytes(data))


def backend() -> str:
    """``libcrypto`` or ``cryptography``: what :func:`verify` uses (binds it first)."""
    _choose()
    return _backend
