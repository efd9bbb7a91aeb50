"""File tests and file facts: fileexists, isdir, filestat, lsdir, findfiles, ...

Paths are used as given (no workdir prefix); symlinks are not followed unless the
function says so (cf-agent uses ``lstat`` here: a dangling link "exists").
"""

from __future__ import annotations

import glob
import os
import stat

from engine.eval.functions._util import full_match, pcre
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.functions.strings import hash_bytes


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (OSError, ValueError):
        return None


@function("fileexists", "class", 1, 1)
def fileexists(env: FnEnv, path: str) -> bool:
    """fileexists(path): true when ``path`` exists (a dangling symlink counts)."""
    return _lstat(path) is not None


@function("isdir", "class", 1, 1)
def isdir(env: FnEnv, path: str) -> bool:
    """isdir(path): true when ``path`` is a directory."""
    st = _lstat(path)
    return st is not None and stat.S_ISDIR(st.st_mode)


@function("isplain", "class", 1, 1)
def isplain(env: FnEnv, path: str) -> bool:
    """isplain(path): true when ``path`` is a regular file (not a symlink to one)."""
    st = _lstat(path)
    return st is not None and stat.S_ISREG(st.st_mode)


@function("islink", "class", 1, 1)
def islink(env: FnEnv, path: str) -> bool:
    """islink(path): true when ``path`` is a symbolic link."""
    st = _lstat(path)
    return st is not None and stat.S_ISLNK(st.st_mode)


@function("isexecutable", "class", 1, 1)
def isexecutable(env: FnEnv, path: str) -> bool:
    """isexecutable(path): true when ``path`` has an execute bit for its owner."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    return bool(st.st_mode & stat.S_IXUSR)


@function("isreadable", "class", 1, 2)
def isreadable(env: FnEnv, path: str, timeout: str = "3") -> bool:
    """isreadable(path, timeout): true when ``path`` can be opened for reading."""
    try:
        with open(path, "rb") as f:
            f.read(1)
        return True
    except OSError:
        return False


@function("isnewerthan", "class", 2, 2)
def isnewerthan(env: FnEnv, newer: str, older: str) -> bool:
    """isnewerthan(newer, older): true when ``newer`` was modified after ``older``."""
    try:
        return os.stat(newer).st_mtime > os.stat(older).st_mtime
    except OSError:
        return False


@function("filesize", "int", 1, 1)
def filesize(env: FnEnv, path: str) -> str:
    """filesize(path): the size in bytes (of the link itself for a symlink)."""
    st = _lstat(path)
    if st is None:
        raise FunctionError(f"Could not examine file '{path}'")
    return str(st.st_size)


_TYPES = (
    (stat.S_ISREG, "regular file"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISLNK, "symlink"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
)


def _file_type(mode: int) -> str:
    for test, name in _TYPES:
        if test(mode):
            return name
    return "unknown"


def _link_target(path: str, shallow: bool) -> str:
    if not os.path.islink(path):
        return path
    if shallow:
        return os.readlink(path)
    seen = 0
    target = path
    while os.path.islink(target) and seen < 32:
        link = os.readlink(target)
        target = link if link.startswith("/") else os.path.join(os.path.dirname(target), link)
        seen += 1
    return target


@function("filestat", "string", 2, 2)
def filestat(env: FnEnv, path: str, field: str) -> str:
    """filestat(path, field): one fact about ``path`` (size, gid, uid, ino, nlink,
    ctime, atime, mtime, mode, modeoct, permstr, permoct, type, devno, dev_minor,
    dev_major, basename, dirname, linktarget, linktarget_shallow, xattr)."""
    st = _lstat(path)
    if st is None:
        raise FunctionError(f"Function 'filestat': could not examine file '{path}'", quiet=True)
    simple = {
        "size": st.st_size,
        "gid": st.st_gid,
        "uid": st.st_uid,
        "ino": st.st_ino,
        "nlink": st.st_nlink,
        "ctime": int(st.st_ctime),
        "atime": int(st.st_atime),
        "mtime": int(st.st_mtime),
        "mode": st.st_mode,
        "devno": st.st_dev,
        "dev_minor": os.minor(st.st_dev),
        "dev_major": os.major(st.st_dev),
    }
    if field in simple:
        return str(simple[field])
    if field == "modeoct":
        return f"{st.st_mode:o}"
    if field == "permoct":
        return f"{stat.S_IMODE(st.st_mode):o}"
    if field == "permstr":
        return stat.filemode(st.st_mode)
    if field == "type":
        return _file_type(st.st_mode)
    if field == "basename":
        return os.path.basename(path)
    if field == "dirname":
        return os.path.dirname(path)
    if field in ("linktarget", "linktarget_shallow"):
        return _link_target(path, field == "linktarget_shallow")
    if field == "xattr":
        return ""
    raise FunctionError(f"Function 'filestat': unknown field '{field}'")


@function("file_hash", "string", 2, 2)
def file_hash(env: FnEnv, path: str, algorithm: str) -> str:
    """file_hash(file, algorithm): hex digest of the file's contents (zeros if unreadable)."""
    from engine.eval.functions.readers import read_bytes

    try:
        data = read_bytes(path, 0, "file_hash")
    except FunctionError:
        env.log.info(f"Cannot open file for hashing '{path}'")
        return "0" * len(hash_bytes(b"", algorithm, "file_hash"))
    return hash_bytes(data, algorithm, "file_hash")


@function("lsdir", "slist", 3, 3)
def lsdir(env: FnEnv, path: str, regex: str, include_base: str) -> list[str]:
    """lsdir(path, regex, include_base): entries of ``path`` (``.`` and ``..`` too)
    fully matching ``regex``; with ``include_base`` each prefixed by ``path/``."""
    try:
        names = [".", "..", *os.listdir(path)]
    except OSError as e:
        env.log.error(f"Directory '{path}' could not be accessed in lsdir(), (opendir: {e.strerror})")
        return []
    base = include_base in ("true", "yes", "on")
    rx = pcre(regex)
    out = []
    for n in names:
        m = rx.match(n)
        if m is None or m.end() != len(n):
            continue
        out.append(os.path.join(path.rstrip("/") or "/", n) if base else n)
    return out


@function("findfiles", "slist", 1)
def findfiles(env: FnEnv, *patterns: str) -> list[str]:
    """findfiles(glob1, glob2, ...): paths matching the globs (``**`` descends), sorted per glob."""
    out: list[str] = []
    for p in patterns:
        out.extend(sorted(glob.glob(p, recursive=True)))
    return out


@function("countlinesmatching", "int", 2, 2)
def countlinesmatching(env: FnEnv, regex: str, path: str) -> str:
    """countlinesmatching(regex, filename): how many lines ``regex`` matches completely."""
    from engine.eval.functions.readers import read_text

    try:
        lines = read_text(path, 0, "countlinesmatching").split("\n")
    except FunctionError as e:
        env.log.error(f"File '{path}' could not be read in countlinesmatching(). ({e})")
        return "0"
    if lines and lines[-1] == "":
        lines.pop()
    return str(sum(1 for ln in lines if full_match(regex, ln)))
