"""Starting a daemon detached from the terminal, and its log file.

:func:`spawn` double-forks: the daemon gets its own session (no controlling
terminal), stdin from /dev/null, stdout and stderr appended to its log, no
other inherited descriptors, and is re-parented to init, so the caller never
has to reap it. Errors before ``exec`` come back through a close-on-exec pipe.

Logs are rotated by size: :func:`rotate` renames ``x.log`` to ``x.log.1``
(shifting older ones up to ``keep``) and, inside a daemon, re-points fds 1
and 2 at a fresh file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from engine.workdir import make_dirs

LOG_MAX_BYTES = 1 << 20
LOG_KEEP = 3


class SpawnError(RuntimeError):
    pass


def log_path(root: Path, daemon: str) -> Path:
    return root / "logs" / f"{daemon}.log"


def rotate(path: Path, max_bytes: int = LOG_MAX_BYTES, keep: int = LOG_KEEP) -> bool:
    """Rotate ``path`` when it is larger than ``max_bytes``; True if it did."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
    except FileNotFoundError:
        return False
    for i in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{i}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{i + 1}"))
    os.replace(path, path.with_name(f"{path.name}.1"))
    return True


def reopen_std(path: Path) -> None:
    """Point this process's stdout and stderr at ``path`` (appending)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def rotate_own_log(path: Path, max_bytes: int = LOG_MAX_BYTES) -> None:
    """Called by a running daemon now and then: rotate and reopen if too big."""
    if rotate(path, max_bytes):
        reopen_std(path)


def spawn(
    argv: Sequence[str],
    log: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start ``argv`` fully detached; return its pid. Raises :class:`SpawnError`
    when the program could not be executed."""
    make_dirs(log.parent, 0o700)
    rotate(log)
    environ = dict(os.environ if env is None else env)
    pid_r, pid_w = os.pipe()
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    first = os.fork()
    if first == 0:  # pragma: no cover - runs in the child
        try:
            os.close(pid_r)
            os.close(err_r)
            os.setsid()
            second = os.fork()
            if second:
                os.write(pid_w, str(second).encode())
                os._exit(0)
            os.close(pid_w)
            os.chdir(cwd)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(out, 1)
            os.dup2(out, 2)
            keep = {0, 1, 2, err_w}
            for fd in _open_fds():
                if fd not in keep:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            os.execve(argv[0], list(argv), environ)
        except BaseException as e:  # noqa: BLE001 - report anything before exec
            try:
                os.write(err_w, f"{type(e).__name__}: {e}".encode())
            finally:
                os._exit(127)
    os.close(pid_w)
    os.close(err_w)
    try:
        os.waitpid(first, 0)
        data = _read_all(pid_r)
        err = _read_all(err_r)
    finally:
        os.close(pid_r)
        os.close(err_r)
    if err:
        raise SpawnError(err.decode(errors="replace"))
    if not data:
        raise SpawnError("the daemon could not be forked")
    return int(data)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        b = os.read(fd, 4096)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def _open_fds() -> list[int]:
    try:
        return [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 256))
