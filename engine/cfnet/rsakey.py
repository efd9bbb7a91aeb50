"""This host's RSA key as cf-key writes it, and RSA public keys without ``cryptography``.

* ``ppkeys/localhost.priv``: PEM ``RSA PRIVATE KEY`` (PKCS#1), unencrypted, 0600.
* ``ppkeys/localhost.pub``: PEM ``RSA PUBLIC KEY`` (PKCS#1), 0600.
* ``ppkeys/localhost.rsa.cert``: a self-signed certificate of the key for TLS
  (cf-serverd makes one in memory at start; ``ssl`` needs a file). Made with
  ``cryptography`` by :func:`ensure_cert`; serverd runs that in a child process.

A key's digest (``MD5=<hex>``, what ``cf-key -p`` prints) is computed from the
modulus and exponent (:func:`engine.cfengine.keys.digest`), which :func:`numbers`
takes out of PKCS#1 or SubjectPublicKeyInfo DER with a strict walk.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

from engine.atomicwrite import write_atomic
from engine.cfengine.keys import digest
from engine.trust.der import read_tlv
from engine.trust.keyfmt import KeyFileError
from engine.workdir import make_dirs

PRIV = "localhost.priv"
PUB = "localhost.pub"
CERT = "localhost.rsa.cert"
_RSA_OID = bytes.fromhex("06092a864886f70d010101")  # 1.2.840.113549.1.1.1


class RSAKeyError(Exception):
    """A key file or certificate key that is not an RSA key CFEngine uses."""


# cf-key 3.x may write the private key encrypted (PEM DEK-Info) under this fixed
# passphrase, CFEngine's PRIVKEY_PASSPHRASE; an unencrypted key is read as it is
PASSPHRASE = b"Cfengine passphrase"


def _tlv(der: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``."""
    try:
        return read_tlv(der, pos, end)
    except KeyFileError as e:
        raise RSAKeyError(f"bad DER in RSA key: {e}") from None


def _pkcs1(der: bytes) -> tuple[int, int]:
    tag, s, e = _tlv(der, 0, len(der))
    if tag != 0x30 or e != len(der):
        raise RSAKeyError("not an RSA public key")
    out = []
    pos = s
    for _ in range(2):
        tag, a, b = _tlv(der, pos, e)
        if tag != 0x02 or b == a or der[a] & 0x80:
            raise RSAKeyError("not an RSA public key")
        out.append(int.from_bytes(der[a:b], "big"))
        pos = b
    if pos != e or out[0].bit_length() < 512 or out[1] < 3:
        raise RSAKeyError("not an RSA public key")
    return out[0], out[1]


def numbers(der: bytes) -> tuple[int, int]:
    """(modulus, exponent) of a PKCS#1 ``RSAPublicKey`` or an RSA SubjectPublicKeyInfo."""
    tag, s, e = _tlv(der, 0, len(der))
    if tag != 0x30 or e != len(der):
        raise RSAKeyError("not an RSA public key")
    tag, a, b = _tlv(der, s, e)
    if tag == 0x02:
        return _pkcs1(der)
    if tag != 0x30 or _RSA_OID not in der[a:b][:len(_RSA_OID)]:  # AlgorithmIdentifier
        raise RSAKeyError("not an RSA key (only RSA keys are used by CFEngine)")
    tag, a, c = _tlv(der, b, e)
    if tag != 0x03 or c != e or a >= c or der[a] != 0:
        raise RSAKeyError("not an RSA public key")
    return _pkcs1(der[a + 1 : c])


def _der_int(i: int) -> bytes:
    body = i.to_bytes(i.bit_length() // 8 + 1, "big")
    return b"\x02" + _der_len(len(body)) + body


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def pkcs1_der(n: int, e: int) -> bytes:
    body = _der_int(n) + _der_int(e)
    return b"\x30" + _der_len(len(body)) + body


def pem(label: str, der: bytes) -> bytes:
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


def unpem(data: bytes) -> bytes:
    """DER from the first PEM block of ``data`` (DER passes through)."""
    if b"-----BEGIN" not in data:
        return data
    text = data.decode("ascii", "replace")
    start = text.index("-----BEGIN")
    body_start = text.index("\n", start) + 1
    stop = text.find("-----END", body_start)
    if stop < 0:
        raise RSAKeyError("unterminated PEM block")
    try:
        return base64.b64decode("".join(text[body_start:stop].split()), validate=True)
    except ValueError as exc:
        raise RSAKeyError(f"bad PEM base64: {exc}") from None


def public_pem(n: int, e: int) -> bytes:
    """The ``RSA PUBLIC KEY`` PEM cf-key writes (and cf-serverd saves for trusted peers)."""
    return pem("RSA PUBLIC KEY", pkcs1_der(n, e))


def load_public(path: Path) -> tuple[int, int]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RSAKeyError(f"cannot read '{path}': {exc.strerror}") from None
    try:
        return numbers(unpem(data))
    except RSAKeyError as exc:
        raise RSAKeyError(f"'{path}': {exc}") from None


def host_digest(ppkeys: Path) -> str:
    """``MD5=…`` of this host's RSA key, as ``cf-key -p`` prints it."""
    return digest(*load_public(ppkeys / PUB))


def has_key(ppkeys: Path) -> bool:
    try:
        load_public(ppkeys / PUB)
    except RSAKeyError:
        return False
    return (ppkeys / PRIV).exists()


def generate(ppkeys: Path, bits: int = 2048) -> str:
    """Make the RSA key pair as cf-key does; refuses to overwrite. Returns the digest."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    for name in (PRIV, PUB):
        if (ppkeys / name).exists():
            raise FileExistsError(0, "exists", str(ppkeys / name))
    make_dirs(ppkeys, 0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    priv = key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
    nums = key.public_key().public_numbers()
    write_atomic(ppkeys / PRIV, priv, mode=0o600, exclusive=True)
    write_atomic(ppkeys / PUB, public_pem(nums.n, nums.e), mode=0o600, exclusive=True)
    return digest(nums.n, nums.e)


def cert_is_current(ppkeys: Path) -> bool:
    """The certificate exists and carries the key in ``localhost.pub``."""
    from engine.trust.der import spki_of_cert
    from engine.trust.keys import KeyFileError

    try:
        der = unpem((ppkeys / CERT).read_bytes())
        return numbers(spki_of_cert(der)) == load_public(ppkeys / PUB)
    except (OSError, RSAKeyError, KeyFileError):
        return False


def make_cert(ppkeys: Path) -> Path:
    """Write ``localhost.rsa.cert``: self-signed, CN "a" as cf-agent's own, 10 years."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    try:
        data = (ppkeys / PRIV).read_bytes()
        encrypted = b"Proc-Type: 4,ENCRYPTED" in data or b"ENCRYPTED PRIVATE KEY" in data
        key = serialization.load_pem_private_key(data, PASSPHRASE if encrypted else None)
    except (OSError, ValueError, TypeError) as exc:
        raise RSAKeyError(f"cannot load '{ppkeys / PRIV}': {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RSAKeyError(f"'{ppkeys / PRIV}' is not an RSA key")
    nums = key.public_key().public_numbers()
    if (nums.n, nums.e) != load_public(ppkeys / PUB):
        raise RSAKeyError(f"'{ppkeys / PRIV}' does not match '{ppkeys / PUB}'")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA384()))
    write_atomic(ppkeys / CERT, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return ppkeys / CERT


def ensure_cert(ppkeys: Path, isolated: bool = False) -> Path:
    """The certificate, (re)made when missing or stale; ``isolated``: in a child
    process, so that the caller (serverd) never loads ``cryptography``."""
    if cert_is_current(ppkeys):
        return ppkeys / CERT
    if not isolated:
        return make_cert(ppkeys)
    code = "import sys; from pathlib import Path; from engine.cfnet.rsakey import make_cert; make_cert(Path(sys.argv[1]))"
    r = subprocess.run([sys.executable, "-c", code, str(ppkeys)], capture_output=True, text=True,
                       timeout=120, check=False, env=dict(os.environ))
    if r.returncode != 0 or not cert_is_current(ppkeys):
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        raise RSAKeyError(f"cannot make the RSA certificate in '{ppkeys}': {tail}")
    return ppkeys / CERT
