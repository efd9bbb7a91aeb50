"""Opening state files without hanging on, or following, something put in their place.

A FIFO where a database or a run report should be makes a plain ``open()`` wait
for a writer forever; a directory or a socket makes LMDB fail with a message
naming another file. So state files are opened with ``O_NONBLOCK`` (opening a
FIFO then returns at once) and checked with ``fstat`` to be regular files
before anything reads them; the errors name the file and what it is.
"""

from __future__ import annotations

import errno
import os
import stat

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def kind(mode: int) -> str:
    """What a file of this mode is, in words ("a FIFO")."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"


class WrongFileType(OSError):
    """Something other than a regular file stands where a state file should be."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        super().__init__(errno.EINVAL, f"{os.fspath(path)} is {what}, not a regular file")
        self.path = os.fspath(path)
        self.what = what

    def __str__(self) -> str:
        return self.strerror or ""


def open_regular(path: str | os.PathLike[str], follow: bool = True) -> int:
    """A read-only descriptor on ``path``, which must be a regular file.

    Never blocks on a FIFO; with ``follow=False`` a symbolic link is refused
    rather than followed. Raises ``FileNotFoundError``, ``PermissionError`` and
    the like as ``os.open`` does (their ``filename`` is ``path``), and
    :class:`WrongFileType` for a directory, FIFO, socket, device or refused
    link."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if not follow:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise WrongFileType(path, "a symbolic link") from None
        if exc.errno in (errno.ENXIO, errno.EISDIR):  # a socket; a directory (some systems)
            st = os.lstat(path) if not follow else os.stat(path)
            raise WrongFileType(path, kind(st.st_mode)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise WrongFileType(path, kind(mode))
    return fd


def check_regular(path: str | os.PathLike[str], follow: bool = True) -> str | None:
    """Why ``path`` cannot serve as a state file ("... is a FIFO, not a regular
    file"), or None when it is a regular file or does not exist. Looks with
    ``lstat`` (``stat`` when ``follow``) and opens nothing."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{os.fspath(path)}: {exc.strerror}"
    if stat.S_ISREG(st.st_mode):
        return None
    return str(WrongFileType(path, kind(st.st_mode)))
