"""File-system helpers shared by the files-family actuators.

Every write the agent makes to a managed file goes through :func:`atomic_write`:
a new file beside the target (``O_EXCL|O_NOFOLLOW``), fsync, then ``rename``
over the target, so a reader sees the old content or the new one, never half of
either. The replacement keeps the mode and ownership of the file it replaces.
Given ``dir_fd`` (a directory opened by :mod:`engine.promises._safefs`), every
step is made relative to it, so no link on the way can redirect the write.
"""

from __future__ import annotations

import os
import stat
import time

from engine.text import canonify

NEW_FILE_MODE = 0o600  # cf-agent creates files 0600 unless perms say otherwise
NEW_DIR_MODE = 0o700


class WriteError(OSError):
    """A write that could not be completed; the target is left untouched."""


def mode_str(mode: int) -> str:
    """``0o644`` -> ``"0644"`` (the four-digit form cf-agent prints)."""
    return f"{stat.S_IMODE(mode):04o}"


def lstat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def atomic_write(
    path: str,
    data: bytes,
    like: os.stat_result | None,
    new_mode: int = NEW_FILE_MODE,
    suffix: str = ".cf-after-edit",
    dir_fd: int | None = None,
) -> None:
    """Replace ``path`` with ``data`` atomically.

    ``like`` is the stat of the file being replaced (its mode and owner are kept);
    ``None`` means a new file with ``new_mode``. With ``dir_fd``, ``path`` is a
    name in that directory. Raises :class:`WriteError`.
    """
    tmp = path + suffix
    mode = stat.S_IMODE(like.st_mode) if like is not None else new_mode
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
        except FileExistsError:  # left over from an interrupted run (unlink never follows)
            os.unlink(tmp, dir_fd=dir_fd)
            fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
    except OSError as e:
        raise WriteError(e.errno, f"open: {e.strerror}") from e
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if like is not None and (like.st_uid != os.geteuid() or like.st_gid != os.getegid()):
                try:
                    os.fchown(fd, like.st_uid, like.st_gid)
                except PermissionError:
                    pass
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as e:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise WriteError(e.errno, f"write: {e.strerror}") from e
    if dir_fd is None:
        _fsync_dir(os.path.dirname(path) or ".")
    else:
        _fsync_dir(".", dir_fd)


def _fsync_dir(d: str, dir_fd: int | None = None) -> None:
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def copy_bytes_preserving(src: str, dest: str, st: os.stat_result,
                          dir_fd: int | None = None) -> None:
    """Copy ``src`` to ``dest`` (a new file) keeping mode, owner and times (backups).
    With ``dir_fd`` both are names in that directory; ``src`` is never followed."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                 dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    atomic_write(dest, data, st, suffix=".cf-tmp", dir_fd=dir_fd)
    try:
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dir_fd,
                 follow_symlinks=False)
    except OSError:
        pass


def backup_name(path: str, policy: str, suffix: str, now: float | None = None) -> str | None:
    """Where cf-agent keeps the previous version of ``path``.

    ``policy`` is ``true`` (``<path><suffix>``), ``timestamp``
    (``<path>_<epoch>_<ctime canonified><suffix>``) or ``false`` (no backup).
    """
    policy = (policy or "true").lower()
    if policy in ("false", "no", "off"):
        return None
    if policy == "timestamp":
        t = int(now if now is not None else time.time())
        stamp = canonify(time.ctime(t))
        return f"{path}_{t}_{stamp}{suffix}"
    return path + suffix
