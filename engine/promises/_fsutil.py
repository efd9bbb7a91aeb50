"""File-system helpers shared by the files-family actuators.

Every write the agent makes to a managed file goes through :func:`atomic_write`:
a new file beside the target (``O_EXCL|O_NOFOLLOW``), fsync, then ``rename``
over the target, so a reader sees the old content or the new one, never half of
either. The replacement keeps the mode and ownership of the file it replaces.
"""

from __future__ import annotations

import os
import stat
import time

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
) -> None:
    """Replace ``path`` with ``data`` atomically.

    ``like`` is the stat of the file being replaced (its mode and owner are kept);
    ``None`` means a new file with ``new_mode``. Raises :class:`WriteError`.
    """
    tmp = path + suffix
    mode = stat.S_IMODE(like.st_mode) if like is not None else new_mode
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:  # left over from an interrupted run
            os.unlink(tmp)
            fd = os.open(tmp, flags, 0o600)
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
        os.rename(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise WriteError(e.errno, f"write: {e.strerror}") from e
    _fsync_dir(os.path.dirname(path) or ".")


def _fsync_dir(d: str) -> None:
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def copy_bytes_preserving(src: str, dest: str, st: os.stat_result) -> None:
    """Copy ``src`` to ``dest`` (a new file) keeping mode, owner and times (backups)."""
    with open(src, "rb") as f:
        data = f.read()
    atomic_write(dest, data, st, suffix=".cf-tmp")
    try:
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
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
        stamp = _canon(time.ctime(t))
        return f"{path}_{t}_{stamp}{suffix}"
    return path + suffix


def _canon(s: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in s)


def safe_to_follow(path: str, link_st: os.stat_result) -> bool:
    """Whether writing through the symlink ``path`` is allowed.

    cf-agent edits the target of a symlink. vigil does too, but only when the link
    could not have been planted by someone else: it must be owned by root, by us,
    or by the owner of its target (the kernel's ``protected_symlinks`` rule).
    """
    if not stat.S_ISLNK(link_st.st_mode):
        return True
    target = stat_or_none(path)
    if target is None:
        return False
    return link_st.st_uid in (0, os.geteuid(), target.st_uid)
