"""Atomic file writes for the trust store: temp file, fsync, rename.

The temp file is made here rather than with ``tempfile.mkstemp`` (same name shape,
``O_EXCL``, mode 0600 until ``fchmod``): ``tempfile`` brings ``shutil``, ``random``,
``bz2`` and ``lzma`` into serverd, about 1 MB of RSS for one function.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(
    os, "O_NOFOLLOW", 0
)


def _mkstemp(directory: Path, prefix: str, suffix: str) -> tuple[int, str]:
    """A new file ``directory/<prefix><random><suffix>``, opened for writing, mode 0600."""
    for _ in range(100):
        name = os.path.join(directory, f"{prefix}{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(name, _TMP_FLAGS, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {directory}")


def write_atomic(path: Path, data: bytes, mode: int = 0o644, exclusive: bool = False,
                 sync: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one.

    ``exclusive`` publishes with ``link()`` instead of ``rename()``, so an existing
    file is never replaced (FileExistsError); it is how host keys are written.
    ``sync=False`` skips the fsyncs for bookkeeping that may be lost in a crash.
    """
    fd, tmp = _mkstemp(path.parent, f".{path.name}.", ".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if sync:
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
