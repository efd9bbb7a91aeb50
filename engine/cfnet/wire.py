"""CFEngine's transactions: an 8-byte header, then at most 4088 bytes of payload.

The header is ``"<s> <n>"`` NUL-padded to 8 bytes, ``s`` being ``t`` (done) or ``m``
(more to follow) and ``n`` the payload length in decimal (1..4088); anything else
is a protocol error that ends the connection. Before transactions start, the
version banner, the client's version and its ``IDENTITY`` line and the server's
``OK WELCOME`` are plain lines ending in ``\\n``, at most 1023 bytes each; file
content in reply to ``GET`` is raw bytes (the client knows the size from ``STAT``).
"""

from __future__ import annotations

import re

BUFSIZE = 4096
HEADER = 8
MAX_PAYLOAD = BUFSIZE - HEADER
MAX_LINE = 1023
GET_BLOCK = 2048  # what cf-agent asks for in "GET <n> <path>"
TERMINATOR = b"---cfXen/gine/cfXen/gine---"
FAILED = b"BAD: Unspecified server refusal (see verbose server output)"
CHANGED = b"BAD: File changed while copying"
CFD_TRUE = b"CFD_TRUE"
CFD_FALSE = b"CFD_FALSE"
VERSIONS = (2, 3)  # "tls" and "cookie"; 1 (classic) is never spoken
VERSION_NAMES = {2: "tls", 3: "cookie"}
_HEADER_RE = re.compile(rb"\A([tm]) ([1-9][0-9]{0,3})\0*\Z")


class WireError(Exception):
    """The peer broke the protocol: the connection cannot go on."""


def header(length: int, more: bool = False) -> bytes:
    if not 0 < length <= MAX_PAYLOAD:
        raise WireError(f"transaction of {length} bytes (1..{MAX_PAYLOAD} allowed)")
    return (b"%c %d" % (ord("m" if more else "t"), length)).ljust(HEADER, b"\0")


def transaction(payload: bytes, more: bool = False) -> bytes:
    return header(len(payload), more) + payload


def parse_header(h: bytes) -> tuple[int, bool]:
    """(length, more) of an 8-byte header; WireError for anything cf-serverd refuses."""
    m = _HEADER_RE.match(h)
    if len(h) != HEADER or m is None or int(m.group(2)) > MAX_PAYLOAD:
        raise WireError(f"bogus transaction header {h[:HEADER]!r}")
    return int(m.group(2)), m.group(1) == b"m"


def parse_version(line: bytes) -> int | None:
    """The number in ``CFE_v<N> …``, None when the line is not a version line."""
    m = re.match(rb"CFE_v([0-9]{1,3})(?: |\n|\Z)", line)
    return int(m.group(1)) if m else None


def cstr(payload: bytes) -> bytes:
    """A payload up to its first NUL, as the C side reads it."""
    return payload.split(b"\0", 1)[0]
