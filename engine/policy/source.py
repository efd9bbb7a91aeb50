"""A policy file's text and its content digest, from one read of the file.

The loader reads each input once: the digest (BLAKE2b of the file's bytes) names the
file's entry in the parse cache (:mod:`engine.policy.astcache`) and is kept in
:attr:`Policy.digests <engine.policy.ast.Policy>`, where the agent's validation stamp and
the run report's policy hash find it, so no file is read or hashed twice.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.policy.ast import Policy


def decode(raw: bytes) -> str:
    """The text a text-mode ``open(encoding="utf-8", errors="surrogateescape")`` reads:
    undecodable bytes kept as surrogate escapes, ``\\r\\n`` and a lone ``\\r`` as ``\\n``."""
    text = raw.decode("utf-8", "surrogateescape")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def digest(raw: bytes) -> str:
    """The content digest of a file's bytes: hex BLAKE2b-256, CPython's own (OpenSSL is
    not loaded), which hashes policy text about three times faster than its SHA-256."""
    if TYPE_CHECKING:
        from hashlib import blake2b  # the builtin module has no stubs: the same function
    else:
        try:
            from _blake2 import blake2b
        except ImportError:  # pragma: no cover - a build without the builtin module
            from hashlib import blake2b
    return blake2b(raw, digest_size=32).hexdigest()


def read_source(path: str) -> tuple[str, str]:
    """(text, content digest) of the file at ``path``; raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        raw = read_to_end(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    return decode(raw), digest(raw)


def read_to_end(fd: int, size: int) -> bytes:
    """What is left to read in ``fd``, ``size`` bytes expected: ``open(...).read()``
    without the buffered file object (read for each of dozens of files per run)."""
    data = os.read(fd, size + 1)
    if len(data) <= size:  # at the end, or a short read: read on to the end
        while chunk := os.read(fd, max(size + 1 - len(data), 1 << 16)):
            data += chunk
    return data


def content_digests(policy: Policy) -> list[tuple[str, str]]:
    """(path, content digest) of every file of ``policy`` in order: the digest the loader
    took when it read the file, or for a file it did not read (a policy built by hand)
    the file's digest now, ``"?"`` if it cannot be read."""
    out = []
    known = policy.digests
    for f in policy.files:
        d = known.get(f.path)
        if d is None:
            try:
                with open(f.path, "rb") as fh:
                    d = digest(fh.read())
            except OSError:
                d = "?"
        out.append((f.path, d))
    return out
