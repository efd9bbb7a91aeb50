"""``files`` promises: create, delete, copy, perms, edit and touch one path or a tree.

Attributes handled here: ``create`` (a promiser ending in ``/.`` is a
directory; missing parents are made 0700), ``touch``, ``perms`` (see
:mod:`engine.promises.files.perms`), ``delete`` (body: ``dirlinks``, ``rmdirs``),
``depth_search`` and ``file_select`` (see :mod:`engine.promises.files.select`),
``copy_from`` (:mod:`engine.promises.files.copy_from`), ``edit_line``, ``edit_template``
and ``edit_defaults`` (:mod:`engine.promises.files.edit`), ``move_obstructions``.

Steps run in cf-agent's order: delete (alone), create, copy, perms, edit, touch.
The agent never creates a file through a symlink: a dangling link in the way is
an error, as in cf-agent. Every change (create, chmod, chown, touch, delete,
rename) goes through :mod:`engine.promises.safefs`, which refuses a symlink
planted by another user, on the way to the file or as the file itself, with
cf-agent's ``Link has been severed``; a directory on the way that cannot be
reached that way is reported as cf-agent reports it (``Failed to chdir into``).

The package holds this actuator and its steps, each imported when a promise uses it:
``copy_from``, ``links`` (``link_from``), ``perms``, ``rename`` (and ``transformer``),
``select`` (``depth_search``, ``file_select``), ``edit`` (one file read, edited and
saved) with ``edit_line`` (the bundle's promises; ``lines``, ``fields`` and ``insert``
its helpers), ``edit_xml`` and ``template``; ``fsutil`` holds what several share.
"""

from __future__ import annotations

import os
import stat

from engine.promises import safefs
from engine.promises._acc import Acc, plain_dry_run
from engine.promises.base import Outcome, PromiseResult, ResolvedPromise, RunContext
from engine.promises.files import create as cr
from engine.promises.files.fsutil import lstat_or_none, stat_or_none
from engine.promises.files.perms import verify_attributes

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from engine.promises.files.changes import Watch

_TRUE = ("true", "yes", "on")
_EDITS = ("edit_line", "edit_xml", "edit_template", "edit_template_string")


def actuate(promise: ResolvedPromise, run: RunContext) -> PromiseResult:
    """Keep one files promise; never raises for a file-system problem. Under
    ``--simulate`` it is kept on the shadow tree's copies (:mod:`engine.promises.shadow`)."""
    shadow = run.shadow
    if shadow is not None and not shadow.acting:
        from engine.promises.shadow.files import act

        return act(promise, run, shadow, actuate)
    try:
        with safefs.Session():  # each directory is entered once for the promise
            return _actuate(promise, run)
    except (OSError, ValueError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        run.log.error(f"Unable to keep files promise '{promise.promiser}' ({why})")
        run.log.error(f"Errors encountered when actuating files promise '{promise.promiser}'")
        return PromiseResult(Outcome.NOTKEPT)


def _actuate(promise: ResolvedPromise, run: RunContext) -> PromiseResult:
    a = promise.attrs
    promiser = promise.promiser
    # a path a pattern promiser stands for: cf-agent names the promise by the pattern
    pattern = a.get("__pattern__")
    acc = Acc(run.log, pattern if isinstance(pattern, str) else promiser, "files",
              run.warn_only(promise), plain_dry_run(promise, run) if run.dry_run else False)
    perms = a.get("perms")
    if not isinstance(perms, dict):
        perms = {}
    if perms.get("mode") and "rxdirs" not in perms:
        run.log.warning(
            f"Using the default value 'false' for attribute rxdirs (promiser: {promiser}, "
            f"file: {promise.pos.file}:{promise.pos.line}), please set it explicitly")
    want_dir = promiser.endswith("/.") or (promiser.endswith("/") and len(promiser) > 1)
    path = promiser[:-2] if promiser.endswith("/.") else promiser
    if want_dir and path != "/":
        path = path.rstrip("/") or "/"
    try:  # lstat_or_none(path)
        lst: os.stat_result | None = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        lst = None
    if lst is not None and path and pattern is None and (promiser.endswith("/.") or (
            want_dir and path != promiser and os.path.isdir(path))):
        acc.promiser = path  # cf-agent names a promise on an existing directory by its path
    # cf-agent enters the directory of an existing file first; a link on the way
    # that it may not follow is reported here and every change below is refused
    severed = safefs.parent_refused(path) if lst is not None else None
    if severed is not None:
        for line in safefs.chdir_refused(severed):
            run.log.error(line)
    if a.get("file_type") == "fifo" and any(k in a for k in _EDITS):
        _insane(promise, run, "Editing is not allowed on fifos")
        return acc.result()  # cf-agent's sanity check: nothing done, nothing failed
    ds = a.get("depth_search")
    ds = ds if isinstance(ds, dict) else None
    fs = a.get("file_select")
    fs = fs if isinstance(fs, dict) else {}
    if ds is not None or fs:
        from engine.promises.files.select import refusal

        why = refusal(fs) if "file_select" in a else None
        if why is not None:
            _insane(promise, run, why)
            return acc.result()  # as cf-agent: nothing done, nothing failed
        _say_not_acted_on(promise, run, ds, fs)
        if isinstance(pattern, str) and fs and lst is not None and not _selected(path, lst, fs):
            # a path the pattern matched that the file_select leaves out is no promise
            return PromiseResult(Outcome.SKIPPED)
    watch = None
    if "changes" in a:
        from engine.promises.files.changes import watch_for

        watch = watch_for(promise, run)

    if "template_data" in a:  # checked first: a refused one must not create the file
        from engine.promises.files.template import data_refused

        if data_refused(promise, run, pattern if isinstance(pattern, str) else promiser, acc):
            return acc.result()

    if "delete" in a:
        return _delete(path, lst, promise, run, acc, ds, fs, severed)

    if "rename" in a:
        from engine.promises.files.rename import rename_promise

        rename_promise(path, promise, run, acc)
        return acc.result()

    # content implies create unless create is said
    create = str(a.get("create", "")).lower() in _TRUE or ("content" in a and "create" not in a)
    touch = str(a.get("touch", "")).lower() in _TRUE
    # a recursive copy makes its own top directory (cf-agent: not a file first)
    tree_copy = ds is not None and "copy_from" in a and not want_dir
    if lst is None or (stat.S_ISLNK(lst.st_mode) and cr.dangling(path)):
        if (create or touch) and not tree_copy:
            lst = cr.create(promiser, path, want_dir, lst, perms, acc)
            if lst is None:
                return acc.result()
    elif want_dir and not stat.S_ISDIR(lst.st_mode) and (create or touch):
        lst = cr.obstruction(promiser, path, lst, perms, promise, acc)
        if lst is None:
            return acc.result()
    elif create or touch:
        acc.kept = True  # acc.keep(): the file exists as promised

    selected = lst is None or not fs or _selected(path, lst, fs)
    if lst is not None and (perms or watch) and ds is None and selected:
        # cf-agent's first look at an existing file: touch and attributes. It
        # passes over a symlink here (the last look below follows a trusted one)
        # and stops at a directory it could not enter.
        if severed is not None:
            _chdir_failed(severed, run)
        elif not stat.S_ISLNK(lst.st_mode):
            _leaf(path, lst, perms, touch, acc, watch)

    copied = "copy_from" in a
    if copied:
        from engine.promises.files import copy_from

        copy_from.copy_promise(path, promise, run, acc, recursive=ds is not None)
        lst = lstat_or_none(path)
    if "link_from" in a:
        from engine.promises.files.links import link_promise

        link_promise(path, promise, run, acc)
        lst = lstat_or_none(path)

    if ds is not None:
        if lst is not None and stat.S_ISDIR(lst.st_mode):
            from engine.promises.files.tree import verify_tree

            verify_tree(path, lst, promise, run, ds, fs, perms, acc, watch)
        elif lst is None and watch is not None:
            watch.missing(path, acc)
        return acc.result()

    return _edit_and_last_look(path, lst, promise, run, acc, perms, touch, watch, fs, copied)


def _delete(path: str, lst: os.stat_result | None, promise: ResolvedPromise, run: RunContext,
            acc: Acc, ds: dict[str, Any] | None, fs: dict[str, Any],
            severed: Any) -> PromiseResult:
    """``delete``: the file, or what a depth search selects."""
    from engine.promises.files.delete import delete, delete_tree

    if ds is not None:
        delete_tree(path, promise, ds, fs, acc, run)
    elif lst is not None and (not fs or _selected(path, lst, fs)):
        body = promise.body("delete")
        if severed is not None:
            _chdir_failed(severed, run)
            delete(path, lst, body, acc, lost=True)
            return acc.result()
        delete(path, lst, body, acc)
        # cf-agent looks at a plain file once more at the end of the promise: a
        # deletion only warned about is warned about twice
        st = stat_or_none(path)
        if st is not None and stat.S_ISREG(st.st_mode):
            delete(path, os.lstat(path), body, acc)
    return acc.result()


def _edit_and_last_look(path: str, lst: os.stat_result | None, promise: ResolvedPromise,
                        run: RunContext, acc: Acc, perms: dict[str, Any], touch: bool,
                        watch: Watch | None, fs: dict[str, Any], copied: bool) -> PromiseResult:
    """The edits of a single file (a template may create it), then cf-agent's last look
    at it: touch and attributes again."""
    a = promise.attrs
    promiser = promise.promiser
    rendered: str | None = None
    if lst is None:  # an edited file that is not there: a template may create it
        from engine.promises.files.template import edit_absent

        lst, rendered = edit_absent(promise, run, path, acc,
                                    lambda: cr.create(promiser, path, False, None, perms, acc))
        if lst is None:
            if watch is not None:
                watch.missing(path, acc)
            return acc.result()
    if fs and not _selected(path, lst, fs):
        return acc.result()
    edited = "edit_line" in a or "edit_template" in a or a.get("template_method") == "inline_mustache"
    if edited:
        from engine.promises.files.edit import edit_file

        edit_file(path, promise, run, acc, rendered)
    if "edit_xml" in a:
        from engine.promises.files.edit_xml import edit_xml_file

        edit_xml_file(path, promise, run, acc)
        edited = True
    if "transformer" in a:
        from engine.promises.files.rename import transform

        transform(path, promise, run, acc)
        edited = True
    if "content" in a:  # the whole content, written as given (it implies create)
        from engine.promises.files.edit import write_content

        write_content(path, promise, run, acc)
        edited = True
    # cf-agent's last look, at plain files only: touch, then attributes again. A plain
    # file that nothing above could have changed needs no second stat to say so.
    st: os.stat_result | None
    if not (perms or copied or edited) and stat.S_ISREG(lst.st_mode):
        st = lst
    else:
        st = stat_or_none(path)
    if st is not None and stat.S_ISREG(st.st_mode) and (touch or perms or watch):
        _leaf(path, st, perms, touch, acc, watch)
    elif st is None and watch is not None:
        watch.missing(path, acc)
    return acc.result()


def _insane(promise: ResolvedPromise, run: RunContext, why: str) -> None:
    """cf-agent's refusal of a promise whose attributes contradict each other."""
    run.log.error(why)
    run.log.error(f"Promise belongs to bundle '{promise.bundle}' in file '{promise.pos.file}' "
                  f"near line {promise.pos.line}")


def _say_not_acted_on(promise: ResolvedPromise, run: RunContext, ds: dict[str, object] | None,
                      fs: dict[str, object]) -> None:
    """An attribute of the promise's depth_search or file_select body that vigil does not
    act on is an error naming the promise (once a run); the rest is verified."""
    from engine.promises.files.select import not_acted_on

    ignored = not_acted_on(ds, fs)
    if not ignored:
        return
    where = f"{promise.pos.file}:{promise.pos.line}"
    said = run.run_state.setdefault("files_not_acted_on_said", set())
    for what in ignored:
        if (where, what) not in said:
            said.add((where, what))
            run.log.error(f"{where}: {what} is not supported by vigil: promise "
                          f"'{promise.promiser}' verified without it")


def _chdir_failed(d: str, run: RunContext) -> None:
    for line in safefs.chdir_refused(d, risk=False):
        run.log.error(line)


def _leaf(path: str, lst: os.stat_result, perms: dict[str, object], touch: bool,
          acc: Acc, watch: Watch | None = None) -> None:
    """One look at an existing file: touch, then its attributes (the ``changes``
    body's digest and stats, then ``perms``), in cf-agent's order."""
    if touch:
        cr.touch(path, acc)
    if watch is not None:
        watch.look(path, lst, acc)
        if not perms:
            acc.keep()  # cf-agent's check of attributes finds the (absent) perms kept
    if perms:
        verify_attributes(path, lst, perms, touch, acc)


def _selected(path: str, st: os.stat_result, fs: dict[str, object]) -> bool:
    from engine.promises.files.select import selected

    return selected(path, st, fs)



def _true(v: object) -> bool:
    return v is not None and str(v).lower() in _TRUE
