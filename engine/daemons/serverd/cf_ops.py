"""CFEngine's requests on serverd: VERSION, SYNCH/STAT, OPENDIR, MD5, GET, EXEC.

Replies are cf-serverd 3.21's, byte for byte where a client reads them (see
docs/protocol.md): a refusal is one ``BAD: Unspecified server refusal (see verbose
server output)`` transaction (the reason goes to the log only) and the connection
stays open; a request that cannot be parsed gets ``BAD: Request denied`` and the
connection is closed. Paths are checked by :mod:`engine.daemons.serverd.acl` (absolute,
no ``..``, most specific ``access:`` promise of the resolved path, ``O_NOFOLLOW`` open
proven under the promise's root), so what vigil's own protocol refuses is refused here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shlex
import signal
import stat
import sys
import time
from typing import Any, Protocol

from engine.cfnet import wire
from engine.daemons.serverd import cf_exec
from engine.daemons.serverd.acl import (
    ClientId,
    Denied,
    confined_open,
    resolve,
    run_allowed,
)
from engine.daemons.serverd.config import default_classes, split_command

SERVER_VERSION = "3.21.0"  # the CFEngine version whose protocol is spoken
CLOCK_DRIFT = 3600  # seconds a STAT's client time may be off (cf-serverd's denybadclocks)
GET_CHUNK = 64 * 1024  # file bytes read and written at once for GET
MAX_CLASS_LINES = 10  # class transactions read after EXEC
O_PATH = getattr(os, "O_PATH", os.O_RDONLY)
_FILE_TYPES = ((stat.S_ISREG, 0), (stat.S_ISLNK, 1), (stat.S_ISDIR, 2), (stat.S_ISFIFO, 3),
               (stat.S_ISBLK, 4), (stat.S_ISCHR, 5), (stat.S_ISSOCK, 6))


class CfSession(Protocol):
    """What a request needs of its connection (``engine.daemons.serverd.cf_session.CfSession``,
    not imported: the session imports this module)."""

    state: Any
    address: str
    client: ClientId | None

    @property
    def config(self) -> Any: ...
    @property
    def tag(self) -> str: ...
    async def send(self, payload: bytes, more: bool = False) -> None: ...
    async def write(self, data: bytes) -> None: ...
    async def recv(self, timeout: float) -> bytes: ...


class _Illegal(Exception):
    """A request that cannot be parsed: ``BAD: Request denied``, then the connection ends."""


def _path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


async def dispatch(session: CfSession, payload: bytes) -> bool:
    """Serve one request; False when the connection is to be closed."""
    request = wire.cstr(payload)
    log = session.state.log
    if not request:
        log.warning(f"{session.tag}Got NULL transmission (of size {len(payload)})")
        return True
    word = request.split(b" ", 1)[0]
    handler = _HANDLERS.get(word)
    try:
        if handler is None:
            log.warning(f"{session.tag}Unexpected protocol command: {_shown(request)}")
            raise _Illegal
        return await handler(session, request, payload)
    except _Illegal:
        await session.send(b"BAD: Request denied")
        log.info(f"{session.tag}Closing connection due to illegal request: {_shown(request)}")
        return False
    except Denied as e:
        log.info(f"{session.tag}{e}")
        await session.send(wire.FAILED)
        return True


def _shown(data: bytes, width: int = 80) -> str:
    text = data.decode("utf-8", "replace")
    return text if len(text) <= width else f"{text[:width]}… ({len(text)} characters)"


def _match(pattern: str, request: bytes) -> re.Match[bytes]:
    m = re.fullmatch(pattern.encode(), request, re.DOTALL)
    if m is None:
        raise _Illegal
    return m


async def op_version(session: CfSession, request: bytes, _payload: bytes) -> bool:
    await session.send(f"OK: {SERVER_VERSION}".encode())
    return True


async def op_synch(session: CfSession, request: bytes, _payload: bytes) -> bool:
    m = _match(r"SYNCH (-?[0-9]{1,20}) STAT (.+)", request)
    assert session.client is not None
    real, rule = resolve(session.config, session.client, _path(m.group(2)), "STAT")
    now, theirs = int(time.time()), int(m.group(1))
    if abs(now - theirs) > CLOCK_DRIFT:
        session.state.log.info(f"{session.tag}denybadclocks: clocks are {now - theirs} s apart")
        await session.send(f"BAD: Clocks are too far unsynchronized {now}/{theirs}".encode())
        return True
    fd = confined_open(real, rule, O_PATH)
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    kind = next((code for test, code in _FILE_TYPES if test(st.st_mode)), 0)
    holes = int(st.st_size > st.st_blocks * 512)
    mode = stat.S_IMODE(st.st_mode)
    await session.send(
        f"OK: {kind} {mode} 0 {st.st_uid} {st.st_gid} {st.st_size} {int(st.st_atime)} "
        f"{int(st.st_mtime)} {int(st.st_ctime)} {holes} {st.st_ino} {st.st_nlink} "
        f"{st.st_dev}".encode())
    # the path is resolved, so never a link: no link mode (0) and no target, which is
    # also what cf-serverd 3.21 answers for a symbolic link inside a shared tree
    await session.send(b"OK:")
    return True


async def op_opendir(session: CfSession, request: bytes, _payload: bytes) -> bool:
    m = _match(r"OPENDIR (.+)", request)
    assert session.client is not None
    real, rule = resolve(session.config, session.client, _path(m.group(1)), "OPENDIR")
    fd = confined_open(real, rule, os.O_RDONLY | os.O_DIRECTORY)
    try:  # a large directory is read off the event loop
        listed = await asyncio.get_running_loop().run_in_executor(None, os.listdir, fd)
    finally:
        os.close(fd)
    names = [b".", b"..", *(os.fsencode(n) for n in listed)]
    buf = bytearray()
    for name in names:
        if len(buf) + len(name) + 1 > wire.MAX_PAYLOAD:
            await session.send(bytes(buf), more=True)
            buf.clear()
        buf += name + b"\0"
    if len(buf) + len(wire.TERMINATOR) + 1 > wire.MAX_PAYLOAD:
        await session.send(bytes(buf), more=True)
        buf.clear()
    await session.send(bytes(buf) + wire.TERMINATOR + b"\0")
    return True


def _open_regular(session: CfSession, raw: bytes, op: str) -> tuple[int, os.stat_result]:
    assert session.client is not None
    real, rule = resolve(session.config, session.client, _path(raw), op)
    fd = confined_open(real, rule, os.O_RDONLY | os.O_NONBLOCK)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Denied(f"{real} is not a regular file")
    return fd, st


def _md5_fd(fd: int) -> bytes:
    h = hashlib.md5()
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.digest()


async def op_md5(session: CfSession, request: bytes, payload: bytes) -> bool:
    m = _match(r"MD5 (.+)", request)
    theirs = payload[len(request) + 2 : len(request) + 18]
    if len(theirs) != 16:
        raise _Illegal
    fd, _st = _open_regular(session, m.group(1), "MD5")
    try:
        ours = await asyncio.get_running_loop().run_in_executor(None, _md5_fd, fd)
    finally:
        os.close(fd)
    await session.send(wire.CFD_FALSE if ours == theirs else wire.CFD_TRUE)
    return True


async def op_get(session: CfSession, request: bytes, _payload: bytes) -> bool:
    """The file's bytes, raw, exactly as many as its size (the client knows it from
    STAT); a file that shrinks meanwhile ends in ``BAD: File changed while copying``
    and the connection closes (the stream is out of step)."""
    m = _match(r"GET ([0-9]{1,6}) (.+)", request)
    block = int(m.group(1))
    if not 0 < block <= wire.BUFSIZE:
        raise _Illegal
    block = wire.GET_BLOCK if block >= wire.BUFSIZE else block
    fd, st = _open_regular(session, m.group(2), "GET")
    pos = 0
    try:
        while pos < st.st_size:  # the client reads a byte stream: write more than a block
            data = os.pread(fd, min(GET_CHUNK, st.st_size - pos), pos)
            if not data:
                session.state.log.info(f"{session.tag}{_path(m.group(2))} shrank while being sent")
                await session.write(wire.CHANGED.ljust(min(block, st.st_size - pos), b"\0"))
                return False
            await session.write(data)
            pos += len(data)
    finally:
        os.close(fd)
    session.state.log.verbose(f"{session.tag}Sent {pos} bytes of {_path(m.group(2))}")
    return True


async def _class_match(session: CfSession) -> bool:
    """The class names cf-runagent sends after EXEC (``-s``): true when none were sent
    or one is a class of this host."""
    st = session.state
    ours = default_classes({"host": st.host_name, "uqhost": st.host_name.split(".")[0]})
    sent = 0
    for _ in range(MAX_CLASS_LINES):
        text = wire.cstr(await session.recv(st.settings.idle_timeout)).decode("utf-8", "replace")
        if text.startswith(wire.TERMINATOR.decode()):
            return sent == 0
        for name in text.split():
            sent += 1
            with contextlib.suppress(re.error):
                if name in ours or any(re.fullmatch(name, c) for c in ours):
                    st.log.verbose(f"{session.tag}Class '{name}' matched, accepting...")
                    return True
    return False


def _run_argv(session: CfSession) -> list[str]:
    cmd = session.config.cfruncommand
    if not cmd:
        return [sys.executable, "-m", "engine", "agent", "-I", "-w",
                str(session.state.workdir.root)]
    try:
        argv = split_command(cmd)
    except ValueError as e:
        raise Denied(f"cfruncommand cannot be split into a command line: {e}") from None
    if not argv:
        raise Denied("cfruncommand is blank")
    return argv


async def _exec_refused(session: CfSession, why: str, reply: str | None = None) -> bool:
    session.state.log.info(f"{session.tag}{why}")
    await session.send((reply or why).encode())
    await session.send(wire.TERMINATOR)
    return False


async def op_exec(session: CfSession, request: bytes, _payload: bytes) -> bool:
    """One run per connection, its output as ``> line`` transactions, then
    ``(exit code: N)`` and the terminator; the connection closes after it."""
    st, client = session.state, session.client
    assert client is not None
    args = request[4:].decode("utf-8", "replace").strip(" \t")
    if not await _class_match(session):
        await session.send(f"Hello {st.host_name} ({session.address}), nothing relevant to "
                           "do here...\n\n".encode())
        return await _exec_refused(session, "EXEC denied due to failed class match (check "
                                   "cf-serverd verbose output)")
    try:
        argv = _run_argv(session)
        run_allowed(session.config, client, st.run_resource or argv[0])
    except Denied as e:
        # as cf-serverd: the reason (user, the command's ACL) is the log's; the client
        # gets the one refusal, and the connection closes
        st.log.info(f"{session.tag}{e}")
        await session.send(wire.FAILED)
        return False
    try:
        parsed = cf_exec.parse(args)
        cf_exec.authorise(parsed, session.config.roles, session.config.bundles, client)
    except cf_exec.ExecRefused as e:
        for why in e.reasons:
            st.log.info(f"{session.tag}{why}")
        return await _exec_refused(session, e.reply)
    argv += parsed.argv()
    line = f"cf-serverd executing cfruncommand: {shlex.join(argv)}"
    st.log.info(f"{session.tag}{line}")
    await session.send(f"{line}\n".encode())
    rc = await _run(session, argv)
    if rc is not None:
        await session.send(f"(exit code: {rc})\n".encode())
    await session.send(wire.TERMINATOR)
    return False


async def _run(session: CfSession, argv: list[str]) -> int | None:
    """Run ``argv`` (one run at a time on this server), sending each output line;
    None when it was killed at the run timeout."""
    st = session.state
    loop = asyncio.get_running_loop()
    async with st.run_lock:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True, limit=1 << 20)
        except OSError as e:
            await session.send(f"BAD: cannot run {argv[0]}: {e.strerror or e}\n".encode())
            return 127
        assert proc.stdout is not None
        deadline = loop.time() + st.settings.run_timeout
        connected = True
        try:
            while line := await asyncio.wait_for(proc.stdout.readline(),
                                                 max(deadline - loop.time(), 0.01)):
                if connected:
                    try:
                        await session.send(b"> " + line)
                    except (ConnectionError, OSError, TimeoutError):
                        connected = False  # let the run finish; nobody is listening
            return await asyncio.wait_for(proc.wait(), max(deadline - loop.time(), 0.1))
        except (TimeoutError, ValueError):  # ValueError: a line beyond the reader's limit
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            return None


_HANDLERS = {
    b"VERSION": op_version,
    b"SYNCH": op_synch,
    b"OPENDIR": op_opendir,
    b"MD5": op_md5,
    b"GET": op_get,
    b"EXEC": op_exec,
}
