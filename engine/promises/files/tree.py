"""The entries of a ``depth_search``: what a files promise does to each file it
selects in the tree (``perms``, edits, ``rmdeadlinks``), as cf-agent 3.21 does."""

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
    from engine.promises._acc import Acc
    from engine.promises.base import ResolvedPromise, RunContext

_TRUE = ("true", "yes", "on")


def verify_tree(path: str, lst: os.stat_result, promise: ResolvedPromise, run: RunContext,
                ds: dict[str, object], fs: dict[str, object], perms: dict[str, object],
          acc: Acc) -> None:
    """perms and edits for each selected entry of a depth_search."""
    from engine.promises.files.select import selected, walk

    editing = "edit_line" in promise.attrs or "edit_template" in promise.attrs
    if not (perms or editing):
        return  # nothing to do to an entry: none is judged (file_select may run commands)
    # each entry is handled as the walk reaches it, so cf-agent's notes about
    # links come where it prints them; a directory comes after its entries
    entries = walk(path, ds, acc)
    if _true(ds.get("include_basedir")):
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
        if not links and stat.S_ISLNK(st.st_mode):
            continue  # cf-agent leaves a link in a tree alone unless told to traverse
        if perms:
            apply_perms(p, st, perms, acc)
        if editing and stat.S_ISREG(st.st_mode):
            from engine.promises.files.edit import edit_file

            edit_file(p, promise, run, acc)


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
