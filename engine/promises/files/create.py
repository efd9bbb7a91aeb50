"""Bringing a promised file or directory into being: ``create``, ``touch`` and
``move_obstructions``, as cf-agent 3.21 does them.

A directory and the missing parents of a file are made 0700 (the ``perms`` body is
applied afterwards, as cf-agent does); a file gets its promised mode. The agent never
creates a file through a symlink: a dangling link in the way is an error. Every call
goes through :mod:`engine.promises.safefs`.
"""

from __future__ import annotations

import os
import stat

from engine.promises import safefs
from engine.promises.files.fsutil import NEW_DIR_MODE, lstat_or_none, mode_str
from engine.promises.files.perms import creation_mode
from engine.promises.safefs import note

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises._acc import Acc
    from engine.promises.base import ResolvedPromise

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_TRUE = ("true", "yes", "on")


def dangling(path: str) -> bool:
    try:
        os.stat(path)
        return False
    except OSError:
        return True


def create(promiser: str, path: str, want_dir: bool, lst: os.stat_result | None,
            perms: dict[str, object], acc: Acc) -> os.stat_result | None:
    """Create the promised file or directory. A directory is made 0700 (the ``perms``
    body is applied afterwards, as cf-agent does); a file gets its promised mode."""
    mode = NEW_DIR_MODE if want_dir else creation_mode(perms, False)
    if acc.warn_only:
        if want_dir:
            acc.should(f"create directory '{promiser}'")
            return None
        for d in missing_dirs(os.path.dirname(path)):
            acc.should(f"make directory '{d}' for '{path}'")
        acc.should(f"create file '{promiser}', mode '{mode_str(mode)}'")
        return None
    if want_dir:
        if not make_parents(path, acc):
            return None
        try:
            safefs.safe_chmod(path, mode)
        except OSError:
            pass
        acc.repair(f"Created directory '{promiser}'")
        return lstat_or_none(path)
    if lst is not None:  # a symlink whose target does not exist
        acc.fail(f"Error creating file '{path}', mode '{mode_str(mode)}'. (open: 'File exists'). "
                 "Most likely a dangling symlink is in the way. Refusing to create the target "
                 "file of dangling symlink (security risk).")
        return None
    try:
        fd = safefs.safe_open(path, _CREATE_FLAGS, mode)
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if not parent or not make_parents(parent, acc):
            return None
        acc.repair(f"Created directory for '{path}'")
        try:
            fd = safefs.safe_open(path, _CREATE_FLAGS, mode)
        except OSError as e:
            _create_failed(path, mode, e, acc)
            return None
    except OSError as e:
        _create_failed(path, mode, e, acc)
        return None
    try:
        if mode != 0o600:
            os.fchmod(fd, mode)  # the umask must not trim a promised mode
        st = os.fstat(fd)
    finally:
        os.close(fd)
    acc.repair(f"Created file '{path}', mode {mode_str(mode)}")
    return st


def _create_failed(path: str, mode: int, e: OSError, acc: Acc) -> None:
    note(acc.log, e)
    why = e.strerror if isinstance(e, safefs.LinkSevered) else f"'{e.strerror}'"
    acc.fail(f"Error creating file '{path}', mode '{mode_str(mode)}'. (open: {why})")


def missing_dirs(d: str) -> list[str]:
    """``d`` and its ancestors that do not exist yet, outermost first."""
    missing: list[str] = []
    cur = d
    while cur and cur != "/" and lstat_or_none(cur) is None:
        missing.append(cur)
        cur = os.path.dirname(cur)
    return missing[::-1]


def make_parents(d: str, acc: Acc) -> bool:
    """Create ``d`` and its missing ancestors, each 0700, as cf-agent does."""
    missing = missing_dirs(d)
    cur = os.path.dirname(missing[0]) if missing else d
    if cur and cur != "/":
        st = os.stat(cur) if lstat_or_none(cur) is not None else None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            acc.fail(f"The object '{cur}' is not a directory. "
                     "Cannot make a new directory without deleting it.")
            return False
    return mkdirs(missing, acc)


def mkdirs(dirs: list[str], acc: Acc) -> bool:
    """Make each of ``dirs`` (outermost first) 0700; one already there is fine."""
    for d in dirs:
        try:
            safefs.safe_mkdir(d, 0o700)
        except FileExistsError:
            continue
        except OSError as e:
            note(acc.log, e)
            acc.fail(f"Failed to make directory: {d} (mkdir: {e.strerror})")
            return False
    return True


def obstruction(promiser: str, path: str, lst: os.stat_result, perms: dict[str, object],
                 promise: ResolvedPromise, acc: Acc) -> os.stat_result | None:
    """A non-directory where a directory is promised: moved aside only if told to."""
    if str(promise.attrs.get("move_obstructions", "")).lower() not in _TRUE:
        acc.fail(f"The object '{path}' is not a directory. "
                 "Cannot make a new directory without deleting it.")
        return None
    if acc.warn_only:
        acc.should(f"move obstructing file '{path}' to make directory")
        return None
    saved = path + ".cf-moved"
    try:
        safefs.safe_rename(path, saved)
    except OSError as e:
        note(acc.log, e)
        acc.fail(f"Couldn't move obstructing file '{path}' to '{saved}' ({e.strerror})")
        return None
    acc.repair(f"Moved obstructing file/link '{path}' to '{saved}' to make directories "
               f"for '{promiser}'")
    return create(promiser, path, True, None, perms, acc)


def touch(path: str, acc: Acc) -> None:
    if acc.warn_only:
        acc.should(f"update time stamps for '{path}'")
        return
    try:
        safefs.safe_utime(path)
    except OSError as e:
        note(acc.log, e)
        acc.fail(f"Touch '{path}' failed to update timestamps. (utime: {e.strerror})")
        return
    acc.repair(f"Touched (updated time stamps) for path '{path}'")

