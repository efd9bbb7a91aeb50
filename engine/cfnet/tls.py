"""TLS contexts carrying this host's RSA key, as CFEngine's peers expect them.

Both sides present a self-signed certificate of their RSA key and take the peer's
key out of the peer's certificate; trust is decided afterwards on the key's digest
(never on a chain: there is no CA). OpenSSL checks, in the handshake's
CertificateVerify, that each side holds the private key of what it presented.

The client side is plain ``ssl``. A server that asks for a client certificate,
though, can only accept certificates that chain to its CA store through ``ssl``'s
API; cf-serverd accepts any and decides trust after reading ``IDENTITY``. So
:func:`server_context` installs an accept-all verify callback on the context's
``SSL_CTX`` through the ``ssl`` module's own libssl (``ctypes``, the way
:mod:`engine.trust.ed25519` reaches libcrypto). The pointer is taken from the
``_ssl._SSLContext`` object and checked (verify mode and options read back through
libssl must equal what Python set) before anything is written; if that check
fails, serving CFEngine clients is refused with an error, never weakened.
"""

from __future__ import annotations

import ctypes
import ssl
import threading
from pathlib import Path
from typing import Any

from engine.cfnet.rsakey import CERT, PASSPHRASE, PRIV

_SSL_VERIFY_PEER = 0x01
_lock = threading.Lock()
_lib: Any = None
_VERIFY_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


@_VERIFY_CB
def _accept_any(_preverify_ok: int, _store: int) -> int:
    return 1


class TLSSetupError(Exception):
    """The server context cannot be made to accept CFEngine's self-signed client certs."""


def client_context(ppkeys: Path, ciphers: str = "", min_version: str = "") -> ssl.SSLContext:
    """Our RSA certificate for a CFEngine server. As cf-agent, OpenSSL's default cipher
    list unless ``tls_ciphers`` (``ciphers``) and ``tls_min_version`` say otherwise
    (:func:`apply_tls_policy`'s rules); TLSSetupError for a list nothing is left of."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.options |= ssl.OP_NO_TICKET
    ctx.set_ciphers("DEFAULT")
    ctx.load_cert_chain(str(ppkeys / CERT), str(ppkeys / PRIV), password=PASSPHRASE)
    apply_tls_policy(ctx, ciphers, min_version)
    return ctx


def _libssl() -> Any:
    global _lib
    with _lock:
        if _lib is None:
            import _ssl

            lib = ctypes.CDLL(_ssl.__file__)
            lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VERIFY_CB]
            lib.SSL_CTX_set_verify.restype = None
            lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
            lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_get_options.restype = ctypes.c_uint64
            lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
            _lib = lib
        return _lib


def _ssl_ctx_pointer(ctx: ssl.SSLContext) -> int:
    """``SSL_CTX *`` of a context: the first field after ``PyObject_HEAD``."""
    offset = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
    ptr = ctypes.c_void_p.from_address(id(ctx) + offset).value
    if not ptr:
        raise TLSSetupError("no SSL_CTX behind the ssl.SSLContext")
    return int(ptr)


def server_context(ppkeys: Path) -> ssl.SSLContext:
    """Present our RSA certificate; ask for the client's and accept any (trust is
    judged on its digest after the handshake)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_TICKET
    ctx.load_cert_chain(str(ppkeys / CERT), str(ppkeys / PRIV), password=PASSPHRASE)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    try:
        lib = _libssl()
        ptr = _ssl_ctx_pointer(ctx)
        if lib.SSL_CTX_get_verify_mode(ptr) != _SSL_VERIFY_PEER or \
                int(lib.SSL_CTX_get_options(ptr)) != int(ctx.options):
            raise TLSSetupError("the SSL_CTX found does not match the context (layout changed?)")
        lib.SSL_CTX_set_verify(ptr, _SSL_VERIFY_PEER, _accept_any)
    except (OSError, AttributeError, ValueError) as exc:
        raise TLSSetupError(f"cannot install the certificate callback: {exc}") from None
    return ctx


_VERSIONS = {"1.0": ssl.TLSVersion.TLSv1_2, "1.1": ssl.TLSVersion.TLSv1_2,
             "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def apply_tls_policy(ctx: ssl.SSLContext, ciphers: str = "", min_version: str = "") -> list[str]:
    """``body server control``'s ``allowtlsversion`` and ``allowciphers`` on the server
    context, as cf-serverd applies them; returns notes on what was adjusted.

    ``allowtlsversion`` is the lowest version served; below 1.2 vigil still serves 1.2
    at least. ``allowciphers`` is an OpenSSL cipher list for TLS 1.2 and below, plus
    TLS 1.3 suite names (``TLS_…``): with none of those, TLS 1.3 is not offered; with
    only those, TLS 1.2 is not. TLSSetupError when nothing would be left to offer."""
    notes: list[str] = []
    if min_version:
        floor = _VERSIONS.get(min_version.strip())
        if floor is None:
            raise TLSSetupError(f"allowtlsversion '{min_version}' is not one of "
                                f"{', '.join(_VERSIONS)}")
        if min_version.strip() in ("1.0", "1.1"):
            notes.append(f"allowtlsversion '{min_version}': TLS below 1.2 is never served, "
                         "1.2 is the lowest")
        ctx.minimum_version = floor
    if not ciphers:
        return notes
    names = [c for c in ciphers.split(":") if c]
    tls13 = [c for c in names if c.startswith("TLS_")]
    older = [c for c in names if not c.startswith("TLS_")]
    try:
        if older:
            ctx.set_ciphers(":".join(older))
        elif ctx.minimum_version != ssl.TLSVersion.TLSv1_3:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    except ssl.SSLError as exc:
        raise TLSSetupError(f"allowciphers '{ciphers}': {exc}") from None
    if not tls13:
        if ctx.minimum_version == ssl.TLSVersion.TLSv1_3:
            raise TLSSetupError(f"allowciphers '{ciphers}' names no TLS 1.3 suite while "
                                f"allowtlsversion is 1.3: nothing could be served")
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        return notes
    try:
        ok = _libssl().SSL_CTX_set_ciphersuites(_ssl_ctx_pointer(ctx), ":".join(tls13).encode())
    except (OSError, AttributeError, ValueError) as exc:
        raise TLSSetupError(f"cannot set the TLS 1.3 suites of allowciphers: {exc}") from None
    if ok != 1:
        raise TLSSetupError(f"allowciphers '{ciphers}': no TLS 1.3 suite of "
                            f"{':'.join(tls13)} is known to OpenSSL")
    return notes


def route_by_server_name(cf_ctx: ssl.SSLContext, vigil_ctx: ssl.SSLContext, name: str) -> None:
    """One port, two protocols: a ClientHello naming ``name`` (SNI, what vigil's own
    clients send) is switched to ``vigil_ctx`` in the handshake; any other (CFEngine's
    clients send no name) stays on ``cf_ctx``. After the handshake the connection's
    ``ssl_object.context`` tells which protocol follows. ``SSL_set_SSL_CTX`` swaps the
    certificate, not the verify mode set when the handshake began: a vigil client
    may be asked for a certificate, and answers with none, which ``cf_ctx`` allows."""

    def pick(ssl_obj: Any, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        if server_name == name:
            ssl_obj.context = vigil_ctx

    cf_ctx.sni_callback = pick
