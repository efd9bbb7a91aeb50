"""A recursive local ``copy_from``: the source tree walked, each directory made and
each file copied (:mod:`engine.promises.files.copy_one`), ``purge`` removing what the
source does not have, as cf-agent 3.21 does."""

from __future__ import annotations

import os
import shutil
import stat

from engine.promises import safefs
from engine.promises.files.copy_link import (
    follow_failed,
    followed,
    follows,
    link_copy,
    links_instead,
)
from engine.promises.files.copy_one import CopyOpts, _true, copy_file
from engine.promises.files.create import missing_dirs, mkdirs
from engine.promises.files.fsutil import lstat_or_none, stat_or_none
from engine.promises.safefs import note

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises._acc import Acc
    from engine.promises.files.select import CopyFilter

class CopyTree:
    """What a local recursive copy leaves out, and the source's device (for ``xdev``)."""

    __slots__ = ("flt", "dev")

    def __init__(self, flt: CopyFilter, dev: int) -> None:
        self.flt = flt
        self.dev = dev


def depth_of(ds: dict[str, object]) -> int:
    raw = str(ds.get("depth", "0")).strip()
    if raw in ("inf", "infinity"):
        return 1 << 30
    try:
        return max(0, int(float(raw)))
    except ValueError:
        return 0


def tree_root(dest: str, promiser: str, move: bool, acc: Acc) -> bool:
    """The destination directory of a recursive copy, made if missing (an
    obstruction moved aside first when ``move_obstructions`` says so)."""
    dst = lstat_or_none(dest)
    if dst is not None and not stat.S_ISDIR(dst.st_mode):
        whole = promiser + ("." if promiser.endswith("/") else "/.")
        return _obstructed_dir(dest, dst, move, whole, promiser, acc)
    missing = missing_dirs(dest)
    if not missing:
        return True
    if acc.warn_only:
        for leaf in (".", "dummy"):
            for d in missing:
                acc.should(f"make directory '{d}' for '{dest}/{leaf}'")
        acc.fail(f"Unable to stat newly created directory '{dest}'. "
                 "(lstat: No such file or directory)")
        return False
    if not mkdirs(missing, acc):
        return False
    acc.repair(f"Created parent directory for '{promiser}'")
    return True


def _obstructed_dir(d: str, dst: os.stat_result, move: bool, whole: str, named: str,
                    acc: Acc) -> bool:
    """A link or file where a copied directory goes: moved to ``<d>.cf-moved`` and
    the directory made, only under ``move_obstructions`` (cf-agent's wording:
    ``whole`` is the path it was making directories for, ``named`` the one it
    says it made). Neither the move nor the new directory follows a link."""
    link = stat.S_ISLNK(dst.st_mode)
    if not move:
        if link:
            acc.fail(f"Path '{d}' is a symlink. Unable to move it aside without "
                     "move_obstructions is set")
        else:
            acc.fail(f"The object '{d}' is not a directory. "
                     "Cannot make a new directory without deleting it.")
        return False
    if acc.warn_only:
        acc.should(f"move obstructing file/link '{d}' to '{d}.cf-moved' to make directories "
                   f"for '{whole}'")
        return False
    try:
        safefs.safe_rename(d, d + ".cf-moved")
    except OSError as e:
        note(acc.log, e)
        acc.fail(f"Couldn't move obstructing file/link '{d}' to '{d}.cf-moved' ({e.strerror})")
        return False
    if link:
        acc.repair(f"Backed up '{d}'")
    else:
        acc.repair(f"Moved obstructing file/link '{d}' to '{d}.cf-moved' to make directories "
                   f"for '{whole}'")
    if not mkdirs([d], acc):
        return False
    acc.repair(f"Created directory for '{d}'" if link else f"Created parent directory for '{named}'")
    return True


def copy_tree(src: str, dest: str, body: dict[str, object], acc: Acc, level: int,
               depth: int, opts: CopyOpts, move: bool, tree: CopyTree) -> None:
    dst = lstat_or_none(dest)
    # below the top, preserve gives what is there the source directory's mode first
    # (cf-agent does so even to a file it is about to move aside)
    keep_mode = level > 1 and _true(body.get("preserve"))
    if dst is None:
        # cf-agent makes a missing subdirectory of the destination even when only
        # warning or in a dry run (then says what it would copy into it)
        if not mkdirs(missing_dirs(dest), acc):
            return
        acc.repair(f"Created directory '{dest}'")
        if keep_mode:
            _preserve_mode(src, dest, acc)
    else:
        if keep_mode and not stat.S_ISLNK(dst.st_mode):
            _preserve_mode(src, dest, acc)
        if not stat.S_ISDIR(dst.st_mode) and not _obstructed_dir(
                dest, dst, move, dest + "/dummy", dest, acc):
            return
    if level > depth:
        return
    try:
        entries = list(os.scandir(src))
    except OSError as e:
        acc.fail(f"Unable to open directory '{src}' ({e.strerror})")
        return
    names = set()
    for entry in entries:
        names.add(entry.name)
        target = os.path.join(dest, entry.name)
        src_path = entry.path
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            if tree.flt.skip_file(src_path, st):
                continue
            if not follows(body, src_path):
                link_copy(src_path, target, body, move, acc, ref=opts.ref)
                continue
            src_path, followed_st = followed(src_path)  # copylink_patterns: what it leads to
            if followed_st is None:
                follow_failed(src_path, target, acc)
                continue
            if stat.S_ISDIR(followed_st.st_mode):
                continue  # cf-agent does not copy a directory a followed link leads to
            st = followed_st
        if tree.flt.other_device(st, tree.dev):
            continue
        if stat.S_ISDIR(st.st_mode):
            if level < depth and not tree.flt.skip_dir(src_path, entry.name):
                copy_tree(src_path, target, body, acc, level + 1, depth, opts, move, tree)
        elif stat.S_ISREG(st.st_mode) and not tree.flt.skip_file(src_path, st):
            if links_instead(body, src_path):
                link_copy(src_path, target, body, move, acc, linked_to_source=True)
            else:
                copy_file(src_path, st, target, body, acc, opts)
    if _true(body.get("purge")):
        purge(dest, names, acc)


def _preserve_mode(src: str, dest: str, acc: Acc) -> None:
    from engine.promises.files.perms import apply_perms

    sst, dst = stat_or_none(src), lstat_or_none(dest)
    if sst is not None and dst is not None:
        apply_perms(dest, dst, {"mode": f"{stat.S_IMODE(sst.st_mode):o}"}, acc)


def purge(dest: str, keep: set[str], acc: Acc) -> None:
    """Remove what the source does not have, relative to the destination directory
    opened under the link rule (``rmtree`` itself never follows a link)."""
    try:
        dfd = safefs.open_dir(dest)
    except OSError:
        return
    try:
        rfd = safefs.reopen(dfd, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with os.scandir(rfd) as it:
                entries = list(it)
        finally:
            os.close(rfd)
    except OSError:
        os.close(dfd)
        return
    prefix = dest.rstrip("/") + "/"
    try:
        for e in entries:
            if e.name in keep:
                continue
            path = prefix + e.name
            if acc.warn_only:
                acc.should(f"purge '{path}' from copy dest directory")
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.name, dir_fd=dfd)
                else:
                    os.unlink(e.name, dir_fd=dfd)
            except OSError as err:
                acc.fail(f"Unable to purge '{path}' ({err.strerror})")
                continue
            acc.repair(f"Purged '{path}' copy dest directory")
    finally:
        os.close(dfd)
