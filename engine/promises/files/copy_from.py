"""``copy_from`` for files promises: local copies, and remote ones through ``engine.trust``.

``copy_from`` body: ``source``, ``servers`` (a source on another host goes through
:func:`engine.trust.client.copy_from_remote`, imported only then), ``compare``
(``mtime`` — the default: copy when the source is newer —, ``ctime``, ``atime``,
``digest``/``hash``/``md5``/``sha256``/``binary``: copy when the bytes differ,
``exists``: copy only when the destination is missing), ``preserve`` (keep the
source's mode and owner), ``copy_backup`` (``true``: ``<dest>.cfsaved``,
``timestamp``, ``false``), ``purge`` (with ``depth_search``: remove what the
source does not have). The promise's ``file_select`` picks the source files to copy
and ``depth_search``'s ``exclude_dirs``/``include_dirs`` the source directories to
copy into (see :class:`engine.promises.files.select.CopyFilter`).

Like cf-agent, a new copy is written to ``<dest>.cfnew``, the old destination
kept as its backup, and the copy renamed over the destination: the one atomic
write (:func:`engine.atomicwrite.atomic_file`, with cf-agent's temp name). A new
destination file is 0600 unless ``preserve`` is set, an existing one keeps its
mode. A symlink at the destination is never written through: it is removed and
replaced by the copy, as cf-agent does. The destination's directory is reached
under :mod:`engine.promises.safefs`'s link rule and every step (``.cfnew``,
backup, rename) is made relative to it.

This module decides what kind of copy a promise makes; ``copy_one`` copies one file
(keeping a sparse source's holes), ``copy_tree`` a directory tree, ``copy_net`` from
another host.
"""

from __future__ import annotations

import os
import stat

from engine.promises import safefs
from engine.promises._acc import Acc
from engine.promises.base import ResolvedPromise, RunContext
from engine.promises.files.copy_link import SingleCopy, follows, link_copy, links_instead
from engine.promises.files.copy_one import CopyOpts, _true, copy_file
from engine.promises.files.copy_tree import CopyTree, copy_tree, depth_of, tree_root
from engine.promises.files.create import missing_dirs, mkdirs
from engine.promises.files.fsutil import lstat_or_none
from engine.promises.files.select import CopyFilter
from engine.promises.safefs import cannot_follow

LOCAL_NAMES = frozenset({"localhost", ""})  # as cf-agent: 127.0.0.1 means its serverd


def _say_classic(body: dict[str, object], promise: ResolvedPromise, run: RunContext) -> None:
    """``protocol_version => "classic"`` (CFEngine's protocol 1) cannot be honoured: vigil
    speaks only the TLS protocol (2, 3). Said once per promise and run, then TLS is used."""
    version = str(body.get("protocol_version") or "").strip().lower()
    if version not in ("classic", "1"):
        return
    said = run.run_state.setdefault("classic_protocol_said", set())
    where = f"{promise.pos.file}:{promise.pos.line}"
    if where in said:
        return
    said.add(where)
    run.log.error(f"{where}: protocol_version '{version}' (CFEngine's classic protocol) is "
                  "not spoken by vigil; the copy uses the TLS protocol")


def copy_promise(dest: str, promise: ResolvedPromise, run: RunContext, acc: Acc,
                 recursive: bool) -> None:
    body = promise.body("copy_from")
    source = str(body.get("source", "")) or dest
    servers = body.get("servers")
    servers = [str(s) for s in servers] if isinstance(servers, list) else (
        [str(servers)] if servers else [])
    remote = [s for s in servers if s not in LOCAL_NAMES]
    if remote:
        _say_classic(body, promise, run)
        d = safefs.parent_refused(dest)
        if d is not None:  # the remote client writes by path: not through a planted link
            acc.log.error(cannot_follow(d))
            acc.fail(f"Copy from '{remote[0]}:{source}' failed")
            return
        from engine.promises.files.copy_net import copy_remote

        copy_remote(remote, source, dest, body, acc, run,
                    depth_of(promise.body("depth_search")) if recursive else 0,
                    _filter(promise), f"{promise.pos.file}:{promise.pos.line}")
        return
    try:
        sst = os.stat(source)
    except OSError:
        if os.path.islink(source) and not follows(body, source):
            sst = os.lstat(source)  # a link to nothing is copied as a link all the same
        else:
            acc.fail(f"Can't stat file '{source}' on 'localhost' in files.copy_from promise")
            return
    opts = _opts(promise, run)
    flt = _filter(promise)
    move = _true(promise.attrs.get("move_obstructions"))
    if stat.S_ISDIR(sst.st_mode) and not (os.path.islink(source) and not follows(body, source)):
        depth = depth_of(promise.body("depth_search")) if recursive else 0
        if not tree_root(dest, promise.promiser, move, acc):
            return
        copy_tree(source, dest, body, acc, 1, depth, opts, move, CopyTree(flt, sst.st_dev))
        return
    if flt.skip_file(source, sst):
        return  # cf-agent judges a single copy's source by file_select too: nothing to do
    if not _parent_dirs(dest, acc, run):
        return
    if os.path.islink(source) and not follows(body, source):
        link_copy(source, dest, body, move, acc, ref=opts.ref)
    elif links_instead(body, source):
        link_copy(source, dest, body, move, acc, linked_to_source=True)
    else:
        copy_file(source, sst, dest, body, acc, opts)


def _filter(promise: ResolvedPromise) -> CopyFilter:
    fs = promise.attrs.get("file_select")
    return CopyFilter(promise.body("depth_search"), fs if isinstance(fs, dict) else None)


def _opts(promise: ResolvedPromise, run: RunContext) -> CopyOpts:
    """What each file copied gets: the promise's ``perms`` and ``touch`` checked after
    the copy, the run's ``files_single_copy``, the repository for its backup."""
    from engine.promises.files.repository import Repository

    perms = promise.attrs.get("perms")
    return CopyOpts(perms if isinstance(perms, dict) else {},
                    _true(promise.attrs.get("touch")), SingleCopy.of(run),
                    Repository.of(promise, run),
                    f"Promise belongs to bundle '{promise.bundle}' in file "
                    f"'{promise.pos.file}' near line {promise.pos.line}")


def _parent_dirs(dest: str, acc: Acc, run: RunContext) -> bool:
    """Make the missing directories above a single-file destination.

    cf-agent first tries to enter the parent and says it could not (an error line
    that does not count against the promise); under a warning it then describes
    the directories it would make, twice over."""
    parent = os.path.dirname(dest)
    missing = missing_dirs(parent)
    if not missing:
        # a new destination: cf-agent enters its directory first (an existing one
        # was entered, and any refusal reported, when the promise began)
        d = safefs.parent_refused(dest) if lstat_or_none(dest) is None else None
        if d is not None:
            for line in safefs.chdir_refused(d):
                run.log.error(line)
        return True
    run.log.error(f"Failed to chdir into '{parent}'. (chdir: 'No such file or directory')")
    if acc.warn_only:
        for _ in range(2):
            for d in missing:
                acc.should(f"make directory '{d}' for '{dest}'")
        return True
    if not mkdirs(missing, acc):
        return False
    acc.repair(f"Created parent directory for '{dest}'")
    return True
