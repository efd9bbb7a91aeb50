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

import errno
import itertools
import os
import stat

from engine.promises import safefs
from engine.promises._acc import Acc, plain_dry_run
from engine.promises.base import Outcome, PromiseResult, ResolvedPromise, RunContext
from engine.promises.files.fsutil import NEW_DIR_MODE, lstat_or_none, mode_str, stat_or_none
from engine.promises.files.perms import apply_perms, creation_mode, verify_attributes
from engine.promises.safefs import note

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_TRUE = ("true", "yes", "on")
_EDITS = ("edit_line", "edit_xml", "edit_template", "edit_template_string")


def actuate(promise: ResolvedPromise, run: RunContext) -> PromiseResult:
    """Keep one files promise; never raises for a file-system problem."""
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

    if "template_data" in a:  # checked first: a refused one must not create the file
        from engine.promises.files.template import data_refused

        if data_refused(promise, run, pattern if isinstance(pattern, str) else promiser, acc):
            return acc.result()

    if "delete" in a:
        if ds is not None:
            _delete_tree(path, promise, ds, fs, acc, run)
        elif lst is not None and (not fs or _selected(path, lst, fs)):
            body = promise.body("delete")
            if severed is not None:
                _chdir_failed(severed, run)
                _delete(path, lst, body, acc, lost=True)
                return acc.result()
            _delete(path, lst, body, acc)
            # cf-agent looks at a plain file once more at the end of the promise: a
            # deletion only warned about is warned about twice
            st = stat_or_none(path)
            if st is not None and stat.S_ISREG(st.st_mode):
                _delete(path, os.lstat(path), body, acc)
        return acc.result()

    if "rename" in a:
        from engine.promises.files.rename import rename_promise

        rename_promise(path, promise, run, acc)
        return acc.result()

    # content implies create unless create is said
    create = str(a.get("create", "")).lower() in _TRUE or ("content" in a and "create" not in a)
    touch = str(a.get("touch", "")).lower() in _TRUE
    # a recursive copy makes its own top directory (cf-agent: not a file first)
    tree_copy = ds is not None and "copy_from" in a and not want_dir
    if lst is None or (stat.S_ISLNK(lst.st_mode) and _dangling(path)):
        if (create or touch) and not tree_copy:
            lst = _create(promiser, path, want_dir, lst, perms, acc)
            if lst is None:
                return acc.result()
    elif want_dir and not stat.S_ISDIR(lst.st_mode) and (create or touch):
        lst = _obstruction(promiser, path, lst, perms, promise, acc)
        if lst is None:
            return acc.result()
    elif create or touch:
        acc.kept = True  # acc.keep(): the file exists as promised

    selected = lst is None or not fs or _selected(path, lst, fs)
    if lst is not None and perms and ds is None and selected:
        # cf-agent's first look at an existing file: touch and attributes. It
        # passes over a symlink here (the last look below follows a trusted one)
        # and stops at a directory it could not enter.
        if severed is not None:
            _chdir_failed(severed, run)
        elif not stat.S_ISLNK(lst.st_mode):
            _leaf(path, lst, perms, touch, acc)

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
            _tree(path, lst, promise, run, ds, fs, perms, acc)
        return acc.result()

    rendered: str | None = None
    if lst is None:  # an edited file that is not there: a template may create it
        from engine.promises.files.template import edit_absent

        lst, rendered = edit_absent(promise, run, path, acc,
                                    lambda: _create(promiser, path, False, None, perms, acc))
        if lst is None:
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
    if not (perms or copied or edited) and stat.S_ISREG(lst.st_mode):
        st = lst
    else:
        st = stat_or_none(path)
    if st is not None and stat.S_ISREG(st.st_mode) and (touch or perms):
        _leaf(path, st, perms, touch, acc)
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
          acc: Acc) -> None:
    if touch:
        _touch(path, acc)
    if perms:
        verify_attributes(path, lst, perms, touch, acc)


def _selected(path: str, st: os.stat_result, fs: dict[str, object]) -> bool:
    from engine.promises.files.select import selected

    return selected(path, st, fs)


def _dangling(path: str) -> bool:
    try:
        os.stat(path)
        return False
    except OSError:
        return True


def _create(promiser: str, path: str, want_dir: bool, lst: os.stat_result | None,
            perms: dict[str, object], acc: Acc) -> os.stat_result | None:
    """Create the promised file or directory. A directory is made 0700 (the ``perms``
    body is applied afterwards, as cf-agent does); a file gets its promised mode."""
    mode = NEW_DIR_MODE if want_dir else creation_mode(perms, False)
    if acc.warn_only:
        if want_dir:
            acc.should(f"create directory '{promiser}'")
            return None
        for d in _missing_dirs(os.path.dirname(path)):
            acc.should(f"make directory '{d}' for '{path}'")
        acc.should(f"create file '{promiser}', mode '{mode_str(mode)}'")
        return None
    if want_dir:
        if not _make_parents(path, acc):
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
        if not parent or not _make_parents(parent, acc):
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


def _missing_dirs(d: str) -> list[str]:
    """``d`` and its ancestors that do not exist yet, outermost first."""
    missing: list[str] = []
    cur = d
    while cur and cur != "/" and lstat_or_none(cur) is None:
        missing.append(cur)
        cur = os.path.dirname(cur)
    return missing[::-1]


def _make_parents(d: str, acc: Acc) -> bool:
    """Create ``d`` and its missing ancestors, each 0700, as cf-agent does."""
    missing: list[str] = []
    cur = d
    while cur and cur != "/" and lstat_or_none(cur) is None:
        missing.append(cur)
        cur = os.path.dirname(cur)
    if cur and cur != "/":
        st = os.stat(cur) if lstat_or_none(cur) is not None else None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            acc.fail(f"The object '{cur}' is not a directory. "
                     "Cannot make a new directory without deleting it.")
            return False
    for m in reversed(missing):
        try:
            safefs.safe_mkdir(m, 0o700)
        except FileExistsError:
            continue
        except OSError as e:
            note(acc.log, e)
            acc.fail(f"Failed to make directory: {m} (mkdir: {e.strerror})")
            return False
    return True


def _obstruction(promiser: str, path: str, lst: os.stat_result, perms: dict[str, object],
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
    return _create(promiser, path, True, None, perms, acc)


def _touch(path: str, acc: Acc) -> None:
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


def _lost(path: str) -> None:
    """Stands in for a call made in a directory cf-agent could not enter: its
    call, relative to wherever it was, finds nothing by that name."""
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)


def _delete(path: str, st: os.stat_result, body: dict[str, object], acc: Acc,
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


def _delete_tree(path: str, promise: ResolvedPromise, ds: dict[str, object],
                 fs: dict[str, object], acc: Acc, run: RunContext) -> None:
    if not fs:
        run.log.error(f"Dangerous or ambiguous promise - '{path}' specifies recursive deletion "
                      "but has no file selection criteria")
        run.log.error(f"Promise belongs to bundle '{promise.bundle}' in file "
                      f"'{promise.pos.file}' near line {promise.pos.line}")
        return
    from engine.promises.files.select import selected, walk

    body = promise.body("delete")
    for p, st in walk(path, ds, acc):
        if selected(p, st, fs):
            _delete(p, st, body, acc)
    if _true(ds.get("include_basedir")):
        base = lstat_or_none(path)
        if base is not None and selected(path, base, fs):
            _delete(path, base, body, acc)


def _tree(path: str, lst: os.stat_result, promise: ResolvedPromise, run: RunContext,
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
        if rmdead and stat.S_ISLNK(st.st_mode) and _dangling(p):
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
