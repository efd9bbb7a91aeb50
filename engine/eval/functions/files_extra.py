"""File functions of CFEngine 3.21: accessedbefore, changedbefore, diskfree,
findfiles_up and its other name search_up.

The glob of ``findfiles_up`` is cf-agent 3.21's: ``*``, ``?`` and ``[...]`` within one
name (names starting with a dot only when the pattern names the dot), ``**`` for one
to six directories, ``{a,b}`` literal (brace expansion came in 3.24).
"""

from __future__ import annotations

import os

from engine.eval.functions._util import need_int
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data


def _stat(fn: str, path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as e:
        raise FunctionError(f"Function '{fn}': cannot stat '{path}' ({e.strerror})", quiet=True) from None


@function("accessedbefore", "class", 2, 2)
def accessedbefore(env: FnEnv, newer: str, older: str) -> bool:
    """accessedbefore(newer, older): true when ``newer`` was last read before ``older``
    (access times in whole seconds); the call fails when either cannot be examined."""
    a, b = _stat("accessedbefore", newer), _stat("accessedbefore", older)
    return int(a.st_atime) < int(b.st_atime)


@function("changedbefore", "class", 2, 2)
def changedbefore(env: FnEnv, newer: str, older: str) -> bool:
    """changedbefore(newer, older): as cf-agent 3.21, true when the inode change time
    of ``newer`` is later than that of ``older`` (whole seconds); the call fails when
    either cannot be examined."""
    a, b = _stat("changedbefore", newer), _stat("changedbefore", older)
    return int(a.st_ctime) > int(b.st_ctime)


@function("diskfree", "int", 1, 1)
def diskfree(env: FnEnv, path: str) -> str:
    """diskfree(path): the KiB an unprivileged user may still write on the file
    system holding ``path`` (0, with an error, when it cannot be examined)."""
    try:
        st = os.statvfs(path)
    except OSError as e:
        env.log.error(f"Couldn't get filesystem info for '{path}'. (statfs: {e.strerror})")
        return "0"
    return str(st.f_bavail * st.f_frsize // 1024)


#: How many directories ``**`` stands for at most.
GLOBSTAR_DEPTH = 6


def _glob(pattern: str) -> list[str]:
    """The paths matching ``pattern``, sorted: ``**`` is one to six directories."""
    import glob
    import itertools

    parts = pattern.split("**")
    if len(parts) == 1:
        return sorted(glob.glob(pattern))
    found: set[str] = set()
    spans = ["/".join(["*"] * n) for n in range(1, GLOBSTAR_DEPTH + 1)]
    for combo in itertools.product(spans, repeat=len(parts) - 1):
        expanded = parts[0] + "".join(c + rest for c, rest in zip(combo, parts[1:], strict=True))
        found.update(glob.glob(expanded))
    return sorted(found)


def _search_up(fn: str, path: str, pattern: str, level: str | None) -> Data:
    if not path.startswith("/"):
        raise FunctionError(f"Function {fn}, not an absolute path '{path}'")
    if not os.path.isdir(path):
        raise FunctionError(f"Function {fn}, path '{path}' is not a directory")
    levels = need_int(fn, level) if level is not None else None
    found: list[str] = []
    current = path.rstrip("/")
    step = 0
    while True:
        # the last step is the empty path: cf-agent then globs relative to the
        # working directory rather than at "/"
        where = f"{current}/{pattern}" if current else pattern
        found.extend(_glob(where))
        if not current or (levels is not None and step >= levels):
            break
        current = current.rpartition("/")[0]
        step += 1
    return Data(found)


@function("findfiles_up", "data", 2, 3)
def findfiles_up(env: FnEnv, path: str, pattern: str, level: str | None = None) -> Data:
    """findfiles_up(path, glob, level): the files matching ``glob`` in the directory
    ``path`` (absolute) and in each directory above it, nearest first, going up at
    most ``level`` directories (all the way when not given)."""
    return _search_up("findfiles_up", path, pattern, level)


@function("search_up", "data", 2, 3)
def search_up(env: FnEnv, path: str, pattern: str, level: str | None = None) -> Data:
    """search_up(path, glob, level): another name of ``findfiles_up``."""
    return _search_up("search_up", path, pattern, level)
