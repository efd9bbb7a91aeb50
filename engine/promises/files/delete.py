"""``delete`` bodies: removing one file, link or empty directory, or the selected
entries of a tree, as cf-agent 3.21 does (``dirlinks``, ``rmdirs``)."""

from __future__ import annotations

import errno
import os
import stat

from engine.promises import safefs
from engine.promises.files.fsutil import lstat_or_none
from engine.promises.safefs import note

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises._acc import Acc
    from engine.promises.base import ResolvedPromise, RunContext

_TRUE = ("true", "yes", "on")


def _lost(path: str) -> None:
    """Stands in for a call made in a directory cf-agent could not enter: its
    call, relative to wherever it was, finds nothing by that name."""
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)


def delete(path: str, st: os.stat_result, body: dict[str, object], acc: Acc,
           lost: bool = False) -> None:
    """Delete one file, link or (empty) directory; ``lost``: its directory was
    reached through a refused link, so nothing is touched (see ``_lost``)."""
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        if str(body.get("rmdirs", "true")).lower() not in _TRUE:
            return
        if acc.warn_only:
            acc.should(f"delete directory '{path}'")
            return
        try:
            (_lost if lost else safefs.safe_rmdir)(path)
        except OSError as e:
            if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
                return  # cf-agent leaves a directory that still has content
            note(acc.log, e)
            acc.fail(f"Delete directory '{path}' failed (rmdir: {e.strerror})")
            return
        acc.repair(f"Deleted directory '{path}'")
        return
    if stat.S_ISLNK(mode):
        policy = str(body.get("dirlinks", "delete")).lower()
        target_is_dir = os.path.isdir(path)
        if target_is_dir and policy == "keep":
            return
        if target_is_dir and policy == "tidy":
            return
    if acc.warn_only:
        acc.should(f"delete file '{path}'")
        return
    try:
        (_lost if lost else safefs.safe_unlink)(path)
    except OSError as e:
        note(acc.log, e)
        acc.fail(f"Couldn't unlink '{path}' tidying. (unlink: {e.strerror})")
        return
    acc.repair(f"Deleted file '{path}'")


def delete_tree(path: str, promise: ResolvedPromise, ds: dict[str, object],
                fs: dict[str, object], acc: Acc, run: RunContext) -> None:
    if not fs:
        run.log.error(f"Dangerous or ambiguous promise - '{path}' specifies recursive deletion "
                      "but has no file selection criteria")
        run.log.error(f"Promise belongs to bundle '{promise.bundle}' in file "
                      f"'{promise.pos.file}' near line {promise.pos.line}")
        return
    from engine.promises.files.select import selected, walk

    for p, st in walk(path, ds, acc):
        if selected(p, st, fs):
            _delete_entry(p, st, promise, acc, run)
    if str(ds.get("include_basedir")).lower() in _TRUE:
        base = lstat_or_none(path)
        if base is not None and selected(path, base, fs):
            _delete_entry(path, base, promise, acc, run)


def _delete_entry(path: str, st: os.stat_result, promise: ResolvedPromise, acc: Acc,
                  run: RunContext) -> None:
    """One entry of a recursive deletion, a promise of its own for its classes."""
    from engine.promises.files.tree import leaf_done

    leaf = run.resolve_for(promise, path)
    part = acc.child()
    delete(path, st, leaf.body("delete"), part)
    leaf_done(run, leaf, part, acc)

