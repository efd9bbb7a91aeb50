"""File-system helpers shared by the files-family actuators.

Every write the agent makes to a managed file goes through
:func:`engine.atomicwrite.write_atomic` with ``like=`` the stat of the file it
replaces (whose mode and ownership the replacement keeps) and ``dir_fd=`` the
directory :mod:`engine.promises.safefs` opened, so no link on the way can redirect
the write.
"""

from __future__ import annotations

import os
import stat
import time

from engine.atomicwrite import write_atomic
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import BinaryIO

    from engine.promises.base import RunContext

NEW_DIR_MODE = 0o700
EDIT_TMP_SUFFIX = ".cf-after-edit"  # the temp file of an edit, named as cf-agent names it


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


def copy_bytes_preserving(src: str, dest: str, st: os.stat_result,
                          dir_fd: int | None = None) -> None:
    """Copy ``src`` to ``dest`` (a new file) keeping mode, owner and times (backups).
    With ``dir_fd`` both are names in that directory; ``src`` is never followed."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                 dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    write_atomic(dest, data, like=st, tmp_suffix=".cf-tmp", dir_fd=dir_fd)
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


def agent_control(run: RunContext, lval: str) -> object:
    """``body agent control``'s ``lval`` as the policy set it (None when it did not),
    read from the run's ``control_agent`` variables."""
    state = run.run_state
    control = state.get("files_control_agent")
    if not isinstance(control, dict):
        control = run.datastate().get("vars", {}).get("control_agent", {})
        state["files_control_agent"] = control = control if isinstance(control, dict) else {}
    return control.get(lval)


class SparseWriter:
    """Writes a copied file as cf-agent does: a block of zeros becomes a hole (the
    file is sparse, as its source may be), anything else is written. ``finish`` sets
    the length, so a file that ends in a hole has its size."""

    BLOCK = 4096

    def __init__(self, out: BinaryIO) -> None:  # an open file: seek, truncate
        self.out = out
        self.pending = b""
        self.size = 0

    def write(self, data: bytes) -> int:
        buf = self.pending + data
        whole = len(buf) - len(buf) % self.BLOCK
        for i in range(0, whole, self.BLOCK):
            self._block(buf[i:i + self.BLOCK])
        self.pending = buf[whole:]
        return len(data)

    def _block(self, block: bytes) -> None:
        if block.count(0) == len(block):
            self.out.seek(len(block), os.SEEK_CUR)
        else:
            self.out.write(block)
        self.size += len(block)

    def finish(self) -> None:
        if self.pending:
            self.out.write(self.pending)
            self.size += len(self.pending)
            self.pending = b""
        self.out.flush()
        self.out.truncate(self.size)
