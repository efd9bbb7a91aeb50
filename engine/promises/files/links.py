"""``link_from``: the promiser is a link to ``source``, as cf-agent 3.21 keeps it.

``link_type``: ``symlink`` (the source as written; a relative one is resolved
from the link's directory), ``absolute`` (the source made absolute and
normalised), ``relative`` (the shortest ``./../`` path from the link's directory)
or ``hardlink``. A link that already reads as promised is kept. Anything else in
the way is moved aside to ``<promiser>.cfsaved`` (or, for a wrong link, replaced)
only under ``move_obstructions``. ``when_no_source``: ``nop`` (the default: an
error), ``force`` (link anyway) or ``delete`` (remove a dead link). Missing
parent directories are created.

Links are made and removed through :mod:`engine.promises.safefs`: no directory
on the way is reached through a link that is not trusted.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat

from engine.promises import safefs
from engine.promises.base import ResolvedPromise, RunContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.promises._acc import Acc

SAVED_SUFFIX = ".cfsaved"


def link_promise(path: str, promise: ResolvedPromise, run: RunContext, acc: Acc) -> None:
    """Keep the ``link_from`` part of a files promise on ``path``."""
    body = promise.body("link_from")
    source = str(body.get("source", ""))
    if not source:
        acc.fail(f"No source given to link '{path}' from")
        return
    ltype = str(body.get("link_type", "symlink"))
    move = promise.bool_attr("move_obstructions")
    when_no = str(body.get("when_no_source", "nop"))
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        run.log.error(f"Failed to chdir into '{parent}'. (chdir: 'No such file or directory')")
    if ltype == "hardlink":
        _hard(path, source, move, acc)
        return
    if ltype in ("absolute", "abs"):
        to = _absolute(path, source)
    elif ltype in ("relative", "rel"):
        if source.startswith("."):
            to = source
        else:
            rel = _relative(path, posixpath.normpath(source))
            if rel is None:
                acc.fail(f"Failed to link '{path}' to '{source}' - can't link file to itself")
                return
            to = rel
    else:
        to = source
    _symlink(path, to, move, when_no, acc)


def symlink(path: str, to: str, move: bool, acc: Acc) -> None:
    """``path`` made a link reading ``to``, whether or not that names anything (a
    copied link: see :mod:`engine.promises.files.copy_link`)."""
    _symlink(path, to, move, "force", acc)


def hard_link(path: str, source: str, move: bool, acc: Acc) -> None:
    """``path`` made a hard link to the file ``source``."""
    _hard(path, source, move, acc)


def relative_to(path: str, source: str) -> str | None:
    """The relative link text from ``path`` to the absolute ``source`` (None: itself)."""
    return _relative(path, source)


def _absolute(path: str, source: str) -> str:
    if source.startswith("."):
        source = posixpath.join(posixpath.dirname(path), source)
    return posixpath.normpath(source)


def _relative(path: str, source: str) -> str | None:
    """``./`` plus one ``../`` per directory of ``path`` below the part it shares
    with ``source``, then the rest of ``source`` (cf-agent's walk, char by char)."""
    if source == path:
        return None
    k = 0
    while k < len(source) and k < len(path) and source[k] == path[k]:
        k += 1
    while k > 0 and not (source[k - 1:k] == "/" and path[k - 1:k] == "/"):
        k -= 1
    common_to = source[k:]
    levels = path[k - 1:].count("/") if k > 0 else path.count("/")
    return "./" + "../" * max(levels - 1, 0) + common_to


def _symlink(path: str, to: str, move: bool, when_no: str, acc: Acc) -> None:
    # resolved on paper, as cf-agent does: the link's directory may not exist yet
    absto = posixpath.normpath(posixpath.join(posixpath.dirname(path), to))
    exists = os.path.exists(absto)
    if not exists and when_no not in ("force", "delete"):
        acc.fail(f"Unable to create link '{path}' -> '{to}', no source")
        return
    try:
        current: str | None = os.readlink(path)
    except OSError:
        current = None
    if not exists and when_no == "delete":
        if current is not None and not os.path.exists(path):
            if acc.warn_only:
                acc.should(f"remove dead link '{path}'")
                return
            try:
                safefs.safe_unlink(path)
            except OSError as e:
                acc.fail(f"Unable to remove dead link '{path}' ({e.strerror})")
                return
            acc.repair(f"Removed dead link '{path}'")
        return
    if current is None:
        _make(path, to, move, acc)
        return
    if current == to:
        acc.keep()
        return
    if not move:
        acc.fail(f"Link '{path}' points to '{current}' not '{to}', "
                 "but not moving obstructions")
        return
    if acc.warn_only:
        acc.should(f"remove incorrect link '{path}'")
        return
    try:
        safefs.safe_unlink(path)
    except OSError as e:
        acc.fail(f"Unable to remove incorrect link '{path}' ({e.strerror})")
        return
    acc.repair(f"Overrode incorrect link '{path}'")
    _link(path, to, acc)


def _make(path: str, to: str, move: bool, acc: Acc) -> None:
    """No link at ``path`` yet: its parents, whatever is in the way, then the link."""
    if acc.warn_only:
        acc.should(f"create link '{path}'")
        return
    if not _parents(path, acc):
        return
    if not _clear(path, to, move, acc):
        return
    _link(path, to, acc)


def _parents(path: str, acc: Acc) -> bool:
    parent = os.path.dirname(path)
    if not parent or os.path.isdir(parent):
        return True
    missing: list[str] = []
    cur = parent
    while cur and cur != "/" and not os.path.lexists(cur):
        missing.append(cur)
        cur = os.path.dirname(cur)
    try:
        for d in reversed(missing):
            safefs.safe_mkdir(d, 0o700)
    except OSError as e:
        acc.fail(f"Unable to create parent directory of link '{path}' ({e.strerror})")
        return False
    acc.repair(f"Created parent directory for link '{path}'")
    return True


def _clear(path: str, to: str, move: bool, acc: Acc) -> bool:
    """Move an object in the way aside (only under ``move_obstructions``)."""
    try:
        safefs.safe_lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        pass
    if not move:
        acc.fail(f"Object '{path}' is obstructing promise")
        acc.fail(f"Unable to create link '{path}' -> '{to}', failed to move obstruction")
        return False
    saved = path + SAVED_SUFFIX
    try:
        safefs.safe_rename(path, saved)
    except OSError as e:
        acc.fail(f"Unable to move obstruction '{path}' to '{saved}' ({e.strerror})")
        return False
    acc.repair(f"Moved obstructing object '{path}' to '{saved}'")
    return True


def _link(path: str, to: str, acc: Acc) -> None:
    try:
        with safefs.Parent(path) as p:
            os.symlink(to, p.name, dir_fd=p.fd)
    except OSError as e:
        acc.fail(f"Couldn't link '{to}' to '{path}' ({e.strerror})")
        return
    acc.repair(f"Linked files '{path}' -> '{to}'")


def _hard(path: str, source: str, move: bool, acc: Acc) -> None:
    to = source if source.startswith((".", "/")) else "./" + source
    absto = to if to.startswith("/") else posixpath.join(posixpath.dirname(path), to)
    try:
        sst = os.stat(absto)
    except OSError:
        acc.fail(f"Source file '{source}' doesn't exist")
        return
    if not stat.S_ISREG(sst.st_mode):
        acc.fail(f"Source file '{to}' is not a regular file, not appropriate to hard-link")
        return
    try:
        dst = os.stat(path)
    except OSError:
        dst = None
    if dst is not None and (dst.st_ino, dst.st_dev) == (sst.st_ino, sst.st_dev):
        acc.keep()
        return
    if acc.warn_only:
        acc.should(f"hard link files '{path}' -> '{to}'")
        return
    if dst is not None and not _clear(path, to, move, acc):
        return
    if not _parents(path, acc):
        return
    try:
        with safefs.Parent(path) as p:
            os.link(absto, p.name, dst_dir_fd=p.fd, follow_symlinks=False)
    except OSError as e:
        if e.errno == errno.EXDEV:
            acc.fail(f"Couldn't (hard) link '{to}' to '{path}' (different file systems)")
        else:
            acc.fail(f"Couldn't (hard) link '{to}' to '{path}' ({e.strerror})")
        return
    acc.repair(f"Hard linked file '{path}' -> '{to}'")
