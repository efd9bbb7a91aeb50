"""The one atomic file write: a new file beside the target, fsync, rename, fsync dir.

A reader sees the old content or the new one, never half of either, and after a
crash the file holds one of them. The temp file is opened ``O_EXCL|O_NOFOLLOW``, so
a link or FIFO planted under its name is never followed or written through; with
``dir_fd`` (a directory the files actuators opened through
:mod:`engine.promises.safefs`) every step is relative to that directory, so no
link on the way can redirect the write.

The temp name is made here rather than with ``tempfile.mkstemp`` (same shape, mode
0600 until ``fchmod``): ``tempfile`` brings ``shutil``, ``random``, ``bz2`` and
``lzma`` into serverd, about 1 MB of RSS for one function.

This module imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import contextlib
import os

TYPE_CHECKING = False  # typing itself is not imported: the agent writes a report each run
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Staged:
    """The temp file of an atomic write in progress (see :func:`atomic_file`).

    ``file`` is open for writing; ``path`` names it (relative to ``dir_fd`` if one
    was given), for a check by name before it is published; ``mode`` is what it will
    be published with, and may be set once known (a remote file's mode).
    """

    __slots__ = ("file", "path", "mode")

    def __init__(self, file: BinaryIO, path: str, mode: int) -> None:
        self.file = file
        self.path = path
        self.mode = mode


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike[str],
    mode: int = 0o600,
    *,
    like: os.stat_result | None = None,
    exclusive: bool = False,
    sync: bool = True,
    dir_fd: int | None = None,
    tmp_suffix: str | None = None,
) -> Iterator[Staged]:
    """Replace (or create) ``path`` with what the block writes to ``staged.file``;
    an exception in the block leaves ``path`` untouched. Arguments as
    :func:`write_atomic`."""
    target = os.fspath(path)
    fd, tmp = _open_temp(target, dir_fd, tmp_suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            staged = Staged(f, tmp, mode)
            yield staged
            f.flush()
            mode = staged.mode
            if like is not None:
                mode = like.st_mode & 0o7777
                if like.st_uid != os.geteuid() or like.st_gid != os.getegid():
                    try:
                        os.fchown(fd, like.st_uid, like.st_gid)
                    except PermissionError:
                        pass
            os.fchmod(fd, mode)
            if sync:
                os.fsync(fd)
        if exclusive:
            os.link(tmp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            os.unlink(tmp, dir_fd=dir_fd)
        else:
            os.rename(tmp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise
    if sync:
        _fsync_dir(os.path.dirname(target) or ".", dir_fd)


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes,
    mode: int = 0o600,
    *,
    like: os.stat_result | None = None,
    exclusive: bool = False,
    sync: bool = True,
    dir_fd: int | None = None,
    tmp_suffix: str | None = None,
) -> None:
    """Replace (or create) ``path`` with ``data``.

    Args:
        mode: the new file's permission bits, set with ``fchmod`` (the umask does
            not apply).
        like: the stat of the file being replaced: its mode (instead of ``mode``)
            and, where the process may, its owner and group are kept.
        exclusive: publish with ``link()`` instead of ``rename()``, so an existing
            ``path`` is never replaced (``FileExistsError``); host keys are written so.
        sync: ``False`` skips both fsyncs, for caches and bookkeeping a crash may lose.
        dir_fd: ``path`` is a name in this open directory.
        tmp_suffix: the temp file is ``path + tmp_suffix`` (cf-agent's names, such
            as ``.cf-after-edit``), a leftover of that name removed first; by default
            it is ``.<name>.<random>.tmp``.

    Raises:
        OSError: the failing call's own (``FileExistsError``, ``ENOSPC``, ...); the
            target is left untouched and the temp file removed.
    """
    with atomic_file(path, mode, like=like, exclusive=exclusive, sync=sync, dir_fd=dir_fd,
                     tmp_suffix=tmp_suffix) as staged:
        staged.file.write(data)


def _open_temp(path: str, dir_fd: int | None, suffix: str | None) -> tuple[int, str]:
    """The temp file beside ``path``, opened for writing, mode 0600."""
    if suffix is not None:
        tmp = path + suffix
        try:
            return os.open(tmp, _TMP_FLAGS, 0o600, dir_fd=dir_fd), tmp
        except FileExistsError:  # left over from an interrupted run (unlink never follows)
            os.unlink(tmp, dir_fd=dir_fd)
            return os.open(tmp, _TMP_FLAGS, 0o600, dir_fd=dir_fd), tmp
    head, name = os.path.split(path)
    for _ in range(100):
        tmp = os.path.join(head, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, _TMP_FLAGS, 0o600, dir_fd=dir_fd), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {head or '.'}")


def _fsync_dir(directory: str, dir_fd: int | None) -> None:
    try:
        fd = os.open(directory if dir_fd is None else ".",
                     os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
