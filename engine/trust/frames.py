"""Length-prefixed frames: the only way bytes cross a vigil connection.

A frame is ``u32 length (big-endian) | u8 kind | body``; ``length`` counts the
kind byte and the body. Two kinds exist: ``J`` (a UTF-8 JSON object, every
request and reply) and ``D`` (raw bytes: file chunks, streamed agent output).
A frame longer than the receiver's maximum, an unknown kind, or a ``J`` body
that is not a JSON object is a :class:`FrameError`, and the connection that sent
it is closed; nothing is ever buffered beyond the maximum.

:class:`FrameDecoder` is sans-IO (feed bytes, take frames), so the same code
decodes for the asyncio server, the blocking client and the fuzz tests.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

HEADER = struct.Struct(">I")
KIND_JSON = 0x4A  # "J"
KIND_DATA = 0x44  # "D"
KINDS = (KIND_JSON, KIND_DATA)
DEFAULT_MAX_FRAME = 1024 * 1024


class FrameError(ValueError):
    """A malformed or oversized frame: the connection must be closed."""


@dataclass(frozen=True, slots=True)
class Frame:
    kind: int
    body: bytes

    @property
    def is_json(self) -> bool:
        return self.kind == KIND_JSON

    def message(self) -> dict[str, Any]:
        """The JSON object of a ``J`` frame; :class:`FrameError` otherwise."""
        if self.kind != KIND_JSON:
            raise FrameError("expected a message frame, got a data frame")
        return parse_message(self.body)


def parse_message(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise FrameError(f"bad message: {e}") from None
    if not isinstance(obj, dict):
        raise FrameError("bad message: not a JSON object")
    return obj


def encode(kind: int, body: bytes) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown frame kind {kind!r}")
    return HEADER.pack(len(body) + 1) + bytes((kind,)) + body


def encode_message(msg: dict[str, Any]) -> bytes:
    return encode(KIND_JSON, json.dumps(msg, separators=(",", ":")).encode("utf-8"))


def encode_data(data: bytes) -> bytes:
    return encode(KIND_DATA, data)


class FrameDecoder:
    """Incremental decoder. ``feed(data)`` then iterate :meth:`frames`.

    The buffer never holds more than one header plus one maximum-size frame:
    an announced length above ``max_frame`` fails at once, before its body is read.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self.failed = False

    def feed(self, data: bytes) -> None:
        if self.failed:
            raise FrameError("decoder already failed")
        self._buf += data
        if len(self._buf) >= HEADER.size:
            self._check_length(HEADER.unpack_from(self._buf)[0])

    def _check_length(self, n: int) -> None:
        if n < 1:
            self.failed = True
            raise FrameError("empty frame")
        if n > self.max_frame + 1:
            self.failed = True
            raise FrameError(f"frame of {n} bytes exceeds the maximum of {self.max_frame}")

    def frames(self) -> Iterator[Frame]:
        while len(self._buf) >= HEADER.size:
            n = HEADER.unpack_from(self._buf)[0]
            self._check_length(n)
            if len(self._buf) < HEADER.size + n:
                return
            kind = self._buf[HEADER.size]
            body = bytes(self._buf[HEADER.size + 1 : HEADER.size + n])
            del self._buf[: HEADER.size + n]
            if kind not in KINDS:
                self.failed = True
                raise FrameError(f"unknown frame kind {kind}")
            frame = Frame(kind, body)
            if kind == KIND_JSON:
                try:
                    parse_message(body)  # validate now: a bad message fails where it arrives
                except FrameError:
                    self.failed = True
                    raise
            if len(self._buf) >= HEADER.size:
                self._check_length(HEADER.unpack_from(self._buf)[0])
            yield frame

    @property
    def pending(self) -> int:
        """Bytes held that do not yet make a whole frame."""
        return len(self._buf)


class _AsyncReader(Protocol):
    async def readexactly(self, n: int) -> bytes: ...


async def read_frame(reader: _AsyncReader, max_frame: int) -> Frame:
    """Read one frame from an asyncio stream. Raises :class:`FrameError` or
    ``asyncio.IncompleteReadError`` (peer closed)."""
    header = await reader.readexactly(HEADER.size)
    (n,) = HEADER.unpack(header)
    if n < 1 or n > max_frame + 1:
        raise FrameError(f"frame of {n} bytes exceeds the maximum of {max_frame}")
    payload = await reader.readexactly(n)
    kind = payload[0]
    if kind not in KINDS:
        raise FrameError(f"unknown frame kind {kind}")
    frame = Frame(kind, payload[1:])
    if kind == KIND_JSON:
        parse_message(frame.body)
    return frame


class _SyncSocket(Protocol):
    def recv(self, n: int) -> bytes: ...


def _recv_exactly(sock: _SyncSocket, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed by peer")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: _SyncSocket, max_frame: int) -> Frame:
    """Blocking twin of :func:`read_frame` for the client."""
    (n,) = HEADER.unpack(_recv_exactly(sock, HEADER.size))
    if n < 1 or n > max_frame + 1:
        raise FrameError(f"frame of {n} bytes exceeds the maximum of {max_frame}")
    payload = _recv_exactly(sock, n)
    kind = payload[0]
    if kind not in KINDS:
        raise FrameError(f"unknown frame kind {kind}")
    frame = Frame(kind, payload[1:])
    if kind == KIND_JSON:
        parse_message(frame.body)
    return frame
