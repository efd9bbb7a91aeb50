"""execd's control socket: ``<wd>/state/execd.sock``, one JSON line each way.

Requests: ``{"op": "run", "classes": [...], "started_by": "forced"}`` queues an
unscheduled agent run; ``{"op": "status"}`` returns execd's status. The socket
is mode 0600, so only the workdir's owner (and root) may ask.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any, Literal

from engine.workdir import make_dirs

MAX_REQUEST = 64 * 1024


def socket_path(root: Path) -> Path:
    return root / "state" / "execd.sock"


def request(root: Path, message: dict[str, Any], timeout: float = 5.0) -> dict[str, Any] | None:
    """Send one request to the execd of ``root``; None when execd is not listening."""
    path = socket_path(root)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
        s.sendall(json.dumps(message).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError:
        return None
    finally:
        s.close()
    try:
        reply = json.loads(buf)
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None


class ControlServer:
    """The listening socket and its partial client reads, driven by execd's selector."""

    def __init__(self, root: Path) -> None:
        self.path = socket_path(root)
        make_dirs(self.path.parent, 0o700)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self.sock.bind(str(self.path))
        finally:
            os.umask(old)
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.buffers: dict[socket.socket, bytes] = {}

    def accept(self) -> socket.socket | None:
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return None
        conn.setblocking(False)
        self.buffers[conn] = b""
        return conn

    def read(self, conn: socket.socket) -> dict[str, Any] | Literal[False] | None:
        """A complete request, None when more bytes are needed, False when the peer is gone."""
        try:
            chunk = conn.recv(65536)
        except BlockingIOError:
            return None
        except OSError:
            chunk = b""
        if not chunk:
            return False
        buf = self.buffers.get(conn, b"") + chunk
        if len(buf) > MAX_REQUEST:
            return False
        self.buffers[conn] = buf
        if b"\n" not in buf:
            return None
        try:
            msg = json.loads(buf.split(b"\n", 1)[0])
        except ValueError:
            return {}
        return msg if isinstance(msg, dict) else {}

    def reply(self, conn: socket.socket, message: dict[str, Any]) -> None:
        try:
            conn.setblocking(True)
            conn.settimeout(2.0)
            conn.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            pass

    def drop(self, conn: socket.socket) -> None:
        self.buffers.pop(conn, None)
        conn.close()

    def close(self) -> None:
        for conn in list(self.buffers):
            self.drop(conn)
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
