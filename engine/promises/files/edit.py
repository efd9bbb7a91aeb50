"""Editing one file for a files promise: ``edit_line``, ``edit_template``, ``edit_defaults``.

The file is read whole, edited as a list of lines (:mod:`engine.promises.files.edit_line`)
or rendered from a template (:mod:`engine.promises.files.template`), and written back
only if the content changed: first the previous version is kept as a backup
(``<file>.cf-before-edit``, or time-stamped, or none, as ``edit_backup`` says),
then the new content replaces the file atomically with its mode and owner kept.

The file is found through :func:`engine.promises.safefs.resolve`: a symlink
owned by root, by the agent's user or by the owner of its target is followed
(the target is edited, its backup kept beside it); one planted by another user,
at the file or on the way to it, is refused with cf-agent's ``Link has been
severed`` lines. Reading, the backup and the replacement are all made relative
to the target's directory, opened once.

``edit_defaults``: ``empty_file_before_editing`` (start from nothing),
``edit_backup`` (``true``/``false``/``timestamp``/``rotate``, the last keeping
``rotate`` numbered backups, 1 unless said), ``max_file_size`` (bytes; larger files
are refused, default 100000 as in cf-agent; 0 means no limit). A backup goes to the
promise's ``repository`` (or ``default_repository``) when there is one
(:mod:`engine.promises.files.repository`).
"""

from __future__ import annotations

import errno
import os
import stat
import weakref

from engine.atomicwrite import write_atomic
from engine.promises import safefs
from engine.promises._acc import Acc
from engine.promises.base import BundleCall, ResolvedPromise, RunContext
from engine.promises.files.edit_line import EditSession
from engine.promises.files.fsutil import EDIT_TMP_SUFFIX, backup_name

DEFAULT_MAX_FILE_SIZE = 100000
BACKUP_SUFFIX = ".cf-before-edit"


def edit_file(path: str, promise: ResolvedPromise, run: RunContext, acc: Acc,
              rendered: str | None = None) -> None:
    """Apply the promise's edits to ``path``; report through ``acc``. ``rendered``:
    the promise's mustache rendering when it was made already, to create the file
    (which then counts as changed even by an empty rendering, as in cf-agent)."""
    defaults = promise.body("edit_defaults")
    target = _open_target(path, defaults, acc, run)
    if target is None:
        return
    where, st, data = target
    with where:
        _edit(path, where, st, data, promise, defaults, run, acc, rendered)


def _edit(path: str, where: safefs.Parent, st: os.stat_result, data: bytes,
          promise: ResolvedPromise, defaults: dict[str, object], run: RunContext,
          acc: Acc, rendered: str | None) -> None:
    text = data.decode("utf-8", "surrogateescape")
    orig = _split(text)
    empty_first = _true(defaults.get("empty_file_before_editing"))
    session = EditSession(path, [] if empty_first else list(orig), run.log, bool(run.dry_run),
                          _noticed(run), getattr(run, "edit_outcome", None))

    tmpl_msg = ""
    created = rendered is not None
    tmpl = promise.attrs.get("edit_template")
    if (isinstance(tmpl, str) and tmpl) or "template_method" in promise.attrs:
        from engine.promises.files import template

        source = template.mustache_source(promise)
        if source is not None:
            method, src = source
            if rendered is None:
                rendered = template.render_mustache(promise, run, src, method, acc)
                if rendered is None:
                    return
            shown = "inline" if method == "inline_mustache" else src
            tmpl_msg = f"rendering of '{path}' from mustache template '{shown}'"
            if not acc.warn_only:
                acc.keep()  # cf-agent's edit pass before the rendering found nothing to save
        elif isinstance(tmpl, str) and tmpl:
            promises = template.cfengine_template_promises(promise, run, tmpl, acc, path)
            if promises is None:
                return
            session.lines = []
            session.run(promises)

    call = promise.attrs.get("edit_line")
    if call is not None:
        if isinstance(call, str):
            call = BundleCall(call)
        session.run(run.edit_promises(call, path))

    if rendered is not None:
        new_bytes = rendered.encode("utf-8", "surrogateescape")
        changed = created or new_bytes != data
        new_lines = _split(rendered)
    else:
        new_lines = session.lines
        changed = new_lines != orig
        new_bytes = _join(new_lines)
    if not changed:
        acc.keep()  # cf-agent: edit errors without a change leave the files promise kept
        return
    if acc.warn_only:
        if rendered is None:
            for msg in warn_diff(orig, new_lines):
                run.log.warning(msg)
        if tmpl_msg:
            acc.should(f"update {tmpl_msg}")
        else:
            acc.should(f"edit file '{path}'")
        return
    try:
        saved = save_edit(where, st, new_bytes, str(defaults.get("edit_backup", "true")),
                          _rotations(defaults))
    except OSError as e:
        acc.fail(f"Unable to save edited file '{path}' ({e.strerror or e})")
        return
    for msg in session.pending:
        run.log.info(msg)
    if saved is not None:
        from engine.promises.files.repository import Repository

        repository = Repository.of(promise, run)
        if repository is not None:
            repository.keep(where, saved, os.path.join(os.path.dirname(path), saved), acc)
    acc.repair(f"Updated {tmpl_msg}" if tmpl_msg else f"Edited file '{path}'")


def write_content(path: str, promise: ResolvedPromise, run: RunContext, acc: Acc) -> None:
    """``content``: the file holds exactly this text (no newline added), written
    atomically when it differs; no backup is kept, as in cf-agent."""
    content = promise.str_attr("content")
    target = _open_target(path, {"max_file_size": "0"}, acc, run)
    if target is None:
        return
    where, st, data = target
    with where:
        new_bytes = content.encode("utf-8", "surrogateescape")
        if new_bytes == data:
            acc.keep()
            return
        if acc.warn_only:
            acc.should(f"update file '{path}' with content '{content}'")
            return
        try:
            write_atomic(where.name, new_bytes, like=st, dir_fd=where.fd, tmp_suffix=EDIT_TMP_SUFFIX)
        except OSError as e:
            acc.fail(f"Unable to save file '{path}' ({e.strerror or e})")
            return
    acc.repair(f"Updated file '{path}' with content '{content}'")


_NOTICES: weakref.WeakKeyDictionary[object, set[tuple[str, int]]] = weakref.WeakKeyDictionary()


def _noticed(run: RunContext) -> set[tuple[str, int]] | None:
    """The edit promises this run has already warned about (see ``EditSession``)."""
    try:
        return _NOTICES.setdefault(run, set())
    except TypeError:  # a run context that cannot be weakly referenced
        return None


def open_for_edit(path: str, acc: Acc, run: RunContext
                  ) -> tuple[safefs.Parent, os.stat_result, bytes] | None:
    """For other whole-file editors (``edit_xml``): the file as :func:`edit_file`
    finds it (a planted link refused), without a size limit; the directory is
    closed by the caller. None after saying why it cannot be edited."""
    return _open_target(path, {"max_file_size": "0"}, acc, run)


def save_edit(where: safefs.Parent, st: os.stat_result, data: bytes,
              backup: str = "true", rotations: int = 1) -> str | None:
    """Keep the previous version as ``edit_backup`` says (``<file>.cf-before-edit``,
    time-stamped, or with ``rotate``: ``.cf-before-edit.1`` the newest of ``rotations``)
    and replace the file with ``data``, both relative to its directory ``where``
    (``st``: its stat, whose mode and owner the new file keeps). The name of the
    backup made, unless it is one of the rotated ones; raises OSError."""
    if backup.lower() == "rotate":
        _rotate(where, where.name + BACKUP_SUFFIX, max(rotations, 1))
        _keep_backup(where, f"{where.name}{BACKUP_SUFFIX}.1", st)
        name = None
    else:
        name = backup_name(where.name, backup, BACKUP_SUFFIX)
        if name is not None:
            _keep_backup(where, name, st)
    write_atomic(where.name, data, like=st, dir_fd=where.fd, tmp_suffix=EDIT_TMP_SUFFIX)
    return name


def _rotations(defaults: dict[str, object]) -> int:
    """``edit_defaults``' ``rotate``: how many backups ``edit_backup => "rotate"`` keeps
    (1 unless said, as in cf-agent)."""
    try:
        return int(str(defaults.get("rotate", "1")))
    except ValueError:
        return 1


def _rotate(where: safefs.Parent, base: str, n: int) -> None:
    """``base.1`` .. ``base.<n-1>`` each moved one up (``base.<n>`` dropped), so the
    previous version can become ``base.1``."""
    for k in range(n - 1, 0, -1):
        try:
            os.rename(f"{base}.{k}", f"{base}.{k + 1}", src_dir_fd=where.fd,
                      dst_dir_fd=where.fd)
        except FileNotFoundError:
            continue


def _open_target(path: str, defaults: dict[str, object], acc: Acc,
                 run: RunContext) -> tuple[safefs.Parent, os.stat_result, bytes] | None:
    """The file to edit: its directory (opened, to be closed by the caller), its
    stat and its content; None after saying why it cannot be edited."""
    try:
        where, st = safefs.resolve(path)
    except OSError as e:
        if isinstance(e, safefs.LinkSevered):
            safefs.note(run.log, e)
            run.log.info(f"Couldn't read file '{path}' for editing. (fopen: {e.strerror})")
        acc.fail(f"File '{path}' was marked for editing but could not be opened")
        return None
    data = _read_checked(path, where, st, defaults, acc, run)
    if data is None:
        where.close()
        return None
    return where, st, data


def _read_checked(path: str, where: safefs.Parent, st: os.stat_result,
                  defaults: dict[str, object], acc: Acc, run: RunContext) -> bytes | None:
    if not stat.S_ISREG(st.st_mode):
        run.log.info(f"{path} is not a plain file")
        acc.fail(f"File '{path}' was marked for editing but could not be opened")
        return None
    try:
        limit = int(str(defaults.get("max_file_size", DEFAULT_MAX_FILE_SIZE)))
    except ValueError:
        limit = DEFAULT_MAX_FILE_SIZE
    if limit > 0 and st.st_size > limit:
        run.log.info(f"File '{path}' is bigger than the edit limit. "
                     f"max_file_size = {st.st_size} > {limit} bytes")
        acc.fail(f"File '{path}' was marked for editing but could not be opened")
        return None
    try:  # the very file looked at: never a link, a FIFO or a file swapped in since
        fd = os.open(where.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=where.fd)
        with os.fdopen(fd, "rb") as f:
            now = os.fstat(fd)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            return f.read()
    except OSError:
        acc.fail(f"File '{path}' was marked for editing but could not be opened")
        return None


def _keep_backup(where: safefs.Parent, backup: str, st: os.stat_result) -> None:
    """The old inode becomes the backup: a hard link keeps its content, mode and times."""
    try:
        os.unlink(backup, dir_fd=where.fd)
    except FileNotFoundError:
        pass
    try:
        os.link(where.name, backup, src_dir_fd=where.fd, dst_dir_fd=where.fd,
                follow_symlinks=False)
    except OSError:
        from engine.promises.files.fsutil import copy_bytes_preserving

        copy_bytes_preserving(where.name, backup, st, dir_fd=where.fd)


def warn_diff(old: list[str], new: list[str]) -> list[str]:
    """How cf-agent describes an edit it only warns about.

    Not a diff: the two versions are walked side by side, a line that differs is
    shown as removed (its replacement is not shown), then the longer version's
    tail is shown as removed or added. Growing an empty file gives one fixed
    sentence per new line; emptying a file gives nothing."""
    if not new:
        return []
    out: list[str] = []
    for k in range(max(len(old), len(new))):
        if k < len(old) and k < len(new):
            if old[k] != new[k]:
                out.append(f"edit_line warning promised: - {old[k]}")
        elif not old:
            out.append("File content wants to change from from/to full/empty "
                       "but only a warning promised")
        elif k < len(old):
            out.append(f" ! edit_line change warning promised: (remove) {old[k]}")
        else:
            out.append(f" ! edit_line change warning promised: (add) {new[k]}")
    return out


def _split(text: str) -> list[str]:
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _join(lines: list[str]) -> bytes:
    if not lines:
        return b""
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def _true(v: object) -> bool:
    return v is not None and str(v).lower() in ("true", "yes", "on")
