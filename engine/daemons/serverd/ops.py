"""serverd requests: stat, digest, get, list, run, whoami.

Each takes the session and the request, checks access (``acl``), and
answers with ``{"ok": true, ...}`` or raises ``Denied``. File content and run
output travel as data frames, followed by a final ``{"ok": true, "done": true}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shlex
import signal
import stat
import sys
from typing import TYPE_CHECKING, Any, Protocol

from engine.daemons.serverd.acl import (
    Denied,
    check_class_names,
    classes_allowed,
    confined_open,
    resolve,
    run_allowed,
)
from engine.daemons.serverd.config import ServerConfig, split_command
from engine.trust.protocol import Op, ProtocolError, Status, want_int

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from engine.daemons.serverd.acl import ClientId
    from engine.daemons.serverd.state import ServerState


class Session(Protocol):
    """What a request handler uses of its connection (``session.Session``)."""

    state: ServerState
    address: str
    client: ClientId | None
    host: str

    @property
    def tag(self) -> str: ...

    @property
    def config(self) -> ServerConfig: ...

    async def send(self, msg: dict[str, Any]) -> None: ...

    async def send_data(self, data: bytes) -> None: ...

LIST_PAGE = 500
O_PATH = getattr(os, "O_PATH", os.O_RDONLY)


def _type(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "link"
    return "other"


def stat_dict(st: os.stat_result) -> dict[str, Any]:
    return {
        "type": _type(st.st_mode),
        "size": st.st_size,
        "mode": stat.S_IMODE(st.st_mode),
        "mtime": st.st_mtime,
        "uid": st.st_uid,
        "gid": st.st_gid,
    }


async def dispatch(session: Session, op: object, msg: dict[str, Any]) -> None:
    handler = HANDLERS.get(str(op))
    if handler is None:
        raise ProtocolError(f"unknown request {op!r}")
    await handler(session, msg)


async def op_whoami(session: Session, msg: dict[str, Any]) -> None:
    assert session.client is not None
    await session.send(
        {
            "ok": True,
            "status": Status.TRUSTED,
            "fingerprint": session.client.fingerprint,
            "user": session.client.user,
            "host": session.host,
            "address": session.address,
        }
    )


async def op_stat(session: Session, msg: dict[str, Any]) -> None:
    assert session.client is not None
    real, rule = resolve(session.config, session.client, msg.get("path"), "STAT")
    fd = confined_open(real, rule, O_PATH)
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    await session.send({"ok": True, "path": real, "stat": stat_dict(st)})


def _open_regular(session: Session, path: object, op: str) -> tuple[int, os.stat_result, str]:
    assert session.client is not None
    real, rule = resolve(session.config, session.client, path, op)
    fd = confined_open(real, rule, os.O_RDONLY | os.O_NONBLOCK)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Denied(f"{real} is not a regular file")
    return fd, st, real


def _sha256_fd(fd: int) -> str:
    h = hashlib.sha256()
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return h.hexdigest()
        h.update(chunk)
        offset += len(chunk)


async def op_digest(session: Session, msg: dict[str, Any]) -> None:
    fd, st, real = _open_regular(session, msg.get("path"), "DIGEST")
    try:
        digest = await asyncio.get_running_loop().run_in_executor(None, _sha256_fd, fd)
    finally:
        os.close(fd)
    await session.send(
        {"ok": True, "path": real, "algorithm": "sha256", "digest": digest, "size": st.st_size}
    )


async def op_get(session: Session, msg: dict[str, Any]) -> None:
    offset = want_int(msg, "offset", 0)
    fd, st, real = _open_regular(session, msg.get("path"), "GET")
    try:
        size = st.st_size
        if offset > size:
            raise Denied(f"offset {offset} is beyond the end of {real} ({size} bytes)")
        await session.send({"ok": True, "path": real, "offset": offset, "stat": stat_dict(st)})
        chunk = min(session.state.settings.chunk_size, session.state.settings.max_frame)
        pos = offset
        while pos < size:
            data = os.pread(fd, min(chunk, size - pos), pos)
            if not data:
                break
            await session.send_data(data)
            pos += len(data)
    finally:
        os.close(fd)
    session.state.log.verbose(f"{session.tag}Sent {pos - offset} bytes of {real}")
    await session.send({"ok": True, "done": True, "sent": pos - offset})


async def op_list(session: Session, msg: dict[str, Any]) -> None:
    assert session.client is not None
    real, rule = resolve(session.config, session.client, msg.get("path"), "OPENDIR")
    fd = confined_open(real, rule, os.O_RDONLY | os.O_DIRECTORY)
    entries: list[dict[str, Any]] = []
    try:
        with os.scandir(fd) as it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                entries.append({"name": e.name, **stat_dict(st)})
    finally:
        os.close(fd)
    entries.sort(key=lambda x: x["name"])
    for i in range(0, max(len(entries), 1), LIST_PAGE):
        page = entries[i : i + LIST_PAGE]
        await session.send(
            {"ok": True, "path": real, "entries": page, "more": i + LIST_PAGE < len(entries)}
        )


def run_command(session: Session) -> list[str]:
    cmd = session.config.cfruncommand
    if cmd:
        try:
            argv = split_command(cmd)
        except ValueError as e:
            raise Denied(f"cfruncommand cannot be split into a command line: {e}") from None
        if not argv:
            raise Denied("cfruncommand is blank")
        return argv
    return [sys.executable, "-m", "engine", "agent", "-I", "-w", str(session.state.workdir.root)]


async def op_run(session: Session, msg: dict[str, Any]) -> None:
    assert session.client is not None
    st = session.state
    raw = check_class_names(msg.get("classes", []))  # Denied: a clear reason, and no run
    argv = run_command(session)
    run_allowed(session.config, session.client, st.run_resource or argv[0])
    classes = classes_allowed(session.config.roles, session.client.user, raw)
    if classes:
        argv += ["-D", ",".join(classes)]
    st.log.info(f"{session.tag}serverd executing cfruncommand: {shlex.join(argv)}")
    async with st.run_lock:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        await session.send({"ok": True, "command": argv})
        assert proc.stdout is not None
        connected = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + st.settings.run_timeout
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError
                data = await asyncio.wait_for(proc.stdout.read(65536), remaining)
                if not data:
                    break
                if connected:
                    try:
                        await session.send_data(data)
                    except (ConnectionError, OSError, TimeoutError):
                        connected = False  # let the run finish; nobody is listening
            rc = await asyncio.wait_for(proc.wait(), max(deadline - loop.time(), 0.1))
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            if connected:
                await session.send({"ok": False, "done": True, "error": "run timed out"})
            return
    if connected:
        await session.send({"ok": True, "done": True, "exit": rc})


# keyed by Op, looked up by the request's string (an Op is its str)
HANDLERS: dict[str, Callable[[Session, dict[str, Any]], Awaitable[None]]] = {
    Op.WHOAMI: op_whoami,
    Op.STAT: op_stat,
    Op.DIGEST: op_digest,
    Op.GET: op_get,
    Op.LIST: op_list,
    Op.RUN: op_run,
}
