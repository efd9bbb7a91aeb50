"""``repository`` (a files promise's) and ``default_repository`` (``body agent control``):
backups kept in one directory instead of beside the file, as cf-agent 3.21 keeps them.

The backup a copy (``<file>.cfsaved``) or an edit (``<file>.cf-before-edit``, or its
time-stamped form) has just made is moved to ``<repository>/<the backup's path,
canonified>``, replacing what was there. A file is archived once in a run: a second
backup of it in the same run is dropped, as cf-agent drops it (saying so).
"""

from __future__ import annotations

import os

from engine.atomicwrite import write_atomic
from engine.promises import safefs
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises._acc import Acc
    from engine.promises.base import ResolvedPromise, RunContext

_MOVED_KEY = "files_repository_moved"


class Repository:
    """The repository a promise's backups go to."""

    __slots__ = ("path", "moved")

    def __init__(self, path: str, moved: set[str]) -> None:
        self.path = path
        self.moved = moved  # the files archived in this run

    @classmethod
    def of(cls, promise: ResolvedPromise, run: RunContext) -> Repository | None:
        """The promise's ``repository``, else the policy's ``default_repository``."""
        path = promise.str_attr("repository")
        if not path:
            from engine.promises.files.fsutil import agent_control

            default = agent_control(run, "default_repository")
            path = default if isinstance(default, str) else ""
        if not path:
            return None
        if run.shadow is not None:  # --simulate: backups go to the shadow tree's copy
            path = run.shadow.prepare(path, whole=False)
        return cls(path, run.run_state.setdefault(_MOVED_KEY, set()))

    def keep(self, where: safefs.Parent, name: str, backup: str, acc: Acc) -> bool:
        """Move the backup ``name`` (in the directory ``where``, whose path is
        ``backup``) into the repository; True when it has left ``where``."""
        if backup in self.moved:
            acc.log.info(f"The file '{backup}' has already been moved to the repository once. "
                         "Multiple update will cause loss of backup.")
            _unlink(where, name)
            return True
        self.moved.add(backup)
        dest = os.path.join(self.path, canonify(backup))
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=where.fd)
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(fd)
                data = f.read()
            _parents(self.path)
            with safefs.Parent(dest) as p:
                write_atomic(p.name, data, like=st, dir_fd=p.fd, tmp_suffix=".cfnew")
        except OSError as e:
            acc.log.info(f"Failed to move '{backup}' to repository location '{dest}' "
                         f"({e.strerror or e})")
            return False
        acc.log.info(f"Moved '{backup}' to repository location '{dest}'")
        _unlink(where, name)
        return True


def _parents(d: str) -> None:
    """The repository directory, made (0700, each level under the link rule) if missing."""
    missing: list[str] = []
    cur = d
    while cur and cur != "/" and not os.path.lexists(cur):
        missing.append(cur)
        cur = os.path.dirname(cur)
    for m in reversed(missing):
        try:
            safefs.safe_mkdir(m, 0o700)
        except FileExistsError:
            continue


def _unlink(where: safefs.Parent, name: str) -> None:
    try:
        os.unlink(name, dir_fd=where.fd)
    except OSError:
        pass
