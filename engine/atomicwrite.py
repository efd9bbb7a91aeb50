"""The one atomic file write: a new file beside the target, fsync, rename, fsync dir.

A reader sees the old content or the new one, never half of either, and after a
crash the file holds one of them. The temp file is opened ``O_EXCL|O_NOFOLLOW``, so
a link or FIFO planted under its name is never followed or written through; with
``dir_fd`` (a directory the files actuators opened through
:mod:`engine.promises._safefs`) every step is relative to that directory, so no
link on the way can redirect the write.

The temp name is made here rather than with ``tempfile.mkstemp`` (same shape, mode
0600 until ``fchmod``): ``tempfile`` brings ``shutil``, ``random``, ``bz2`` and
``lzma`` into serverd, about 1 MB of RSS for one function.

This module imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import os

_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


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
    target = os.fspath(path)
    fd, tmp = _open_temp(target, dir_fd, tmp_suffix)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
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
        finally:
            os.close(fd)
        if exclusive:
            os.link(tmp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            os.unlink(tmp, dir_fd=dir_fd)
        else:
            os.rename(tmp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise
    if sync:
        _fsync_dir(os.path.dirname(target) or ".", dir_fd)


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
