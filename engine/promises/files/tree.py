"""The entries of a ``depth_search``: what a files promise does to each file it
selects in the tree (``transformer``, ``changes``, ``perms``, edits, ``rmdeadlinks``),
as cf-agent 3.21 does."""

from __future__ import annotations

import itertools
import os
import stat

from engine.promises import safefs
from engine.promises.files.create import dangling
from engine.promises.files.perms import apply_perms
from engine.promises.safefs import note

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Iterator

    from engine.promises._acc import Acc
    from engine.promises.base import ResolvedPromise, RunContext
    from engine.promises.files.changes import Watch

_TRUE = ("true", "yes", "on")


def verify_tree(path: str, lst: os.stat_result, promise: ResolvedPromise, run: RunContext,
                ds: dict[str, object], fs: dict[str, object], perms: dict[str, object],
                acc: Acc, watch: Watch | None = None) -> None:
    """What the promise does to each selected entry of its depth_search: the
    ``transformer``, the ``changes`` body's look, ``perms`` and edits.

    Each entry is a promise of its own for its classes, as in cf-agent: the promise's
    attributes are resolved again with ``this.promiser`` the entry's path, and the
    outcome of what was done to it defines the classes they name."""
    from engine.promises.files.select import selected, walk

    a = promise.attrs
    editing = "edit_line" in a or "edit_template" in a
    transforming = "transformer" in a
    if not (perms or editing or transforming or watch):
        return  # nothing to do to an entry: none is judged (file_select may run commands)
    # each entry is handled as the walk reaches it, so cf-agent's notes about
    # links come where it prints them; a directory comes after its entries (and
    # after the changes body's verdict on what went from it)
    on_dir = None if watch is None else (lambda d: watch.directory_done(d, acc))
    entries: Iterator[tuple[str, os.stat_result]] = walk(path, ds, acc, on_dir)
    base = _true(ds.get("include_basedir"))
    if base:
        entries = itertools.chain(entries, ((path, lst),))
    links = _true(ds.get("traverse_links"))
    # cf-agent searches the tree for attributes (not for a copy or an edit alone), and
    # rmdeadlinks acts in that search, whatever file_select says
    rmdead = bool(perms) and _true(ds.get("rmdeadlinks"))
    for p, st in entries:
        if rmdead and stat.S_ISLNK(st.st_mode) and dangling(p):
            _remove_dead_link(p, acc)
            continue
        if fs and not selected(p, st, fs):
            continue
        if watch is not None and not (base and p == path):
            watch.entry(p, acc)
        link = stat.S_ISLNK(st.st_mode)
        if link and not links and watch is None:
            continue  # cf-agent leaves a link in a tree alone unless told to traverse
        leaf = run.resolve_for(promise, p)
        part = acc.child()
        if transforming and not link:
            from engine.promises.files.rename import transform

            transform(p, leaf, run, part, looks=1)
        if watch is not None:
            watch.look(p, st, part)
            if not perms:
                part.keep()  # cf-agent's check of attributes finds the (absent) perms kept
        if not link or links:
            if perms:
                apply_perms(p, st, leaf.body("perms"), part)
            if editing and stat.S_ISREG(st.st_mode):
                from engine.promises.files.edit import edit_file

                edit_file(p, leaf, run, part)
        leaf_done(run, leaf, part, acc)
    if not base and not acc.repaired and (perms or watch or transforming):
        acc.keep()  # cf-agent: "Basedir ... not promising anything", unless entries changed


def leaf_done(run: RunContext, leaf: ResolvedPromise, part: Acc, acc: Acc) -> None:
    """One entry's outcome: the classes its promise names (``this.promiser`` that
    entry), then folded into the whole promise's."""
    if part.acted():
        run.apply_outcome(None, leaf, part.partial())
    acc.absorb(part)


def _remove_dead_link(path: str, acc: Acc) -> None:
    """depth_search's ``rmdeadlinks``: a symlink whose target does not exist goes."""
    if acc.warn_only:
        acc.should(f"remove dead link '{path}'")
        return
    try:
        safefs.safe_unlink(path)
    except OSError as e:
        note(acc.log, e)
        acc.fail(f"Unable to remove dead link '{path}' ({e.strerror})")
        return
    acc.repair(f"Removed dead link '{path}'")


def _true(v: object) -> bool:
    return v is not None and str(v).lower() in _TRUE
