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
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import stat

from engine.atomicwrite import atomic_file
from engine.promises import safefs
from engine.promises._acc import Acc
from engine.promises.base import ResolvedPromise, RunContext
from engine.promises.files.fsutil import backup_name, lstat_or_none, stat_or_none
from engine.promises.files.select import CopyFilter
from engine.promises.safefs import cannot_follow, note

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import BinaryIO

LOCAL_NAMES = frozenset({"localhost", ""})  # as cf-agent: 127.0.0.1 means its serverd
_DIGEST = frozenset({"digest", "hash", "md5", "sha256", "sha1", "sha512", "binary"})
_TRUE = ("true", "yes", "on")
_CHUNK = 1 << 20


def _true(v: object, default: bool = False) -> bool:
    if v is None:
        return default
    return str(v).lower() in _TRUE


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
        _remote(remote, source, dest, body, acc, run,
                _depth(promise.body("depth_search")) if recursive else 0, _filter(promise),
                f"{promise.pos.file}:{promise.pos.line}")
        return
    try:
        sst = os.stat(source)
    except OSError:
        acc.fail(f"Can't stat file '{source}' on 'localhost' in files.copy_from promise")
        return
    after = _after_copy(promise)
    flt = _filter(promise)
    if stat.S_ISDIR(sst.st_mode):
        depth = _depth(promise.body("depth_search")) if recursive else 0
        move = _true(promise.attrs.get("move_obstructions"))
        if not _tree_root(dest, promise.promiser, move, acc):
            return
        _copy_tree(source, dest, body, acc, 1, depth, after, move, _Tree(flt, sst.st_dev))
        return
    if flt.skip_file(source, sst):
        return  # cf-agent judges a single copy's source by file_select too: nothing to do
    if not _parent_dirs(dest, acc, run):
        return
    copy_file(source, sst, dest, body, acc, after)


def _filter(promise: ResolvedPromise) -> CopyFilter:
    fs = promise.attrs.get("file_select")
    return CopyFilter(promise.body("depth_search"), fs if isinstance(fs, dict) else None)


class _Tree:
    """What a local recursive copy leaves out, and the source's device (for ``xdev``)."""

    __slots__ = ("flt", "dev")

    def __init__(self, flt: CopyFilter, dev: int) -> None:
        self.flt = flt
        self.dev = dev


# What cf-agent checks on a destination after copying to it: the promise's
# ``perms`` body and whether ``touch`` is promised.
AfterCopy = tuple[dict[str, object], bool]


def _after_copy(promise: ResolvedPromise) -> AfterCopy:
    perms = promise.attrs.get("perms")
    return (perms if isinstance(perms, dict) else {}), _true(promise.attrs.get("touch"))


def _parent_dirs(dest: str, acc: Acc, run: RunContext) -> bool:
    """Make the missing directories above a single-file destination.

    cf-agent first tries to enter the parent and says it could not (an error line
    that does not count against the promise); under a warning it then describes
    the directories it would make, twice over."""
    parent = os.path.dirname(dest)
    missing = _missing_dirs(parent)
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
    if not _mkdirs(missing, acc):
        return False
    acc.repair(f"Created parent directory for '{dest}'")
    return True


def _tree_root(dest: str, promiser: str, move: bool, acc: Acc) -> bool:
    """The destination directory of a recursive copy, made if missing (an
    obstruction moved aside first when ``move_obstructions`` says so)."""
    dst = lstat_or_none(dest)
    if dst is not None and not stat.S_ISDIR(dst.st_mode):
        whole = promiser + ("." if promiser.endswith("/") else "/.")
        return _obstructed_dir(dest, dst, move, whole, promiser, acc)
    missing = _missing_dirs(dest)
    if not missing:
        return True
    if acc.warn_only:
        for leaf in (".", "dummy"):
            for d in missing:
                acc.should(f"make directory '{d}' for '{dest}/{leaf}'")
        acc.fail(f"Unable to stat newly created directory '{dest}'. "
                 "(lstat: No such file or directory)")
        return False
    if not _mkdirs(missing, acc):
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
    if not _mkdirs([d], acc):
        return False
    acc.repair(f"Created directory for '{d}'" if link else f"Created parent directory for '{named}'")
    return True


def _missing_dirs(d: str) -> list[str]:
    """``d`` and its ancestors that do not exist yet, outermost first."""
    missing: list[str] = []
    cur = d
    while cur and cur != "/" and lstat_or_none(cur) is None:
        missing.append(cur)
        cur = os.path.dirname(cur)
    return missing[::-1]


def _mkdirs(dirs: list[str], acc: Acc) -> bool:
    for d in dirs:
        try:
            safefs.safe_mkdir(d, 0o700)
        except FileExistsError:
            continue
        except OSError as e:
            note(acc.log, e)
            acc.fail(f"Failed to make directory: {d} (mkdir: {e.strerror})")
            return False
    return True


def _depth(ds: dict[str, object]) -> int:
    raw = str(ds.get("depth", "0")).strip()
    if raw in ("inf", "infinity"):
        return 1 << 30
    try:
        return max(0, int(float(raw)))
    except ValueError:
        return 0


def needs_copy(compare: str, src: str, sst: os.stat_result, dest: str,
               dst: os.stat_result) -> bool:
    if compare == "exists":
        return False
    if compare in _DIGEST:
        return sst.st_size != dst.st_size or not _same_bytes(src, dest)
    if compare == "ctime":
        return sst.st_ctime > dst.st_ctime
    if compare == "atime":  # either time newer, or different content
        return (sst.st_ctime > dst.st_ctime or sst.st_mtime > dst.st_mtime
                or sst.st_size != dst.st_size or not _same_bytes(src, dest))
    return sst.st_mtime > dst.st_mtime


def _same_bytes(a: str, b: str) -> bool:
    """Same content? The destination ``b`` is read under the link rule (a refusal
    means "different": the copy then reports it); neither side may be a FIFO."""
    try:
        with _open_regular(a) as fa, os.fdopen(safefs.safe_open(b, os.O_RDONLY), "rb") as fb:
            if not stat.S_ISREG(os.fstat(fb.fileno()).st_mode):
                return False
            while True:
                x = fa.read(_CHUNK)
                y = fb.read(_CHUNK)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def copy_file(src: str, sst: os.stat_result, dest: str, body: dict[str, object],
              acc: Acc, after: AfterCopy | None = None) -> None:
    """Copy one file if ``compare`` says so; then check the destination's attributes
    as cf-agent does (a check that finds them as promised counts as kept)."""
    dst = lstat_or_none(dest)
    if dst is not None and stat.S_ISDIR(dst.st_mode):
        acc.fail(f"Cannot copy file '{src}' over directory '{dest}'")
        return
    link = dst is not None and stat.S_ISLNK(dst.st_mode)
    compare = str(body.get("compare", "mtime")).lower()
    if dst is not None and not link and not needs_copy(compare, src, sst, dest, dst):
        acc.keep()
        return
    if acc.warn_only:
        if dst is None or link:  # cf-agent's words, source and destination as it puts them
            acc.should(f"copy '{dest}' to '{src}'")
        else:
            acc.should(f"update file '{dest}' from '{src}' on 'localhost'")
        return
    preserve = _true(body.get("preserve"))
    if preserve:
        mode = stat.S_IMODE(sst.st_mode)
    else:
        mode = stat.S_IMODE(dst.st_mode) if dst is not None and not link else 0o600
    parent = os.path.dirname(dest)
    if parent and not os.path.isdir(parent) and not _mkdirs(_missing_dirs(parent), acc):
        return
    tmp = dest + ".cfnew"
    try:
        p = safefs.Parent(dest)
    except OSError as e:
        _open_failed(src, tmp, dest, e, dst is not None, acc)
        return
    with p:
        if link:
            try:
                os.unlink(p.name, dir_fd=p.fd)
            except OSError as e:
                acc.fail(f"Couldn't remove old symbolic link '{dest}' ({e.strerror})")
                return
            acc.repair(f"Removing old symbolic link '{dest}' to make way for copy")
            dst = None
        backup = str(body.get("copy_backup", "true")) if dst is not None else None
        if not _publish(p, src, tmp, mode, sst if preserve else None, dest, backup, acc):
            return
    acc.repair(f"Moved '{tmp}' to '{dest}'")
    if dst is None:
        _verify_copy(dest, after, acc)
        acc.repair(f"Updated file '{dest}' from 'localhost:{src}'")
    else:
        acc.repair(f"Updated '{dest}' from source '{src}' on 'localhost'")
        _verify_copy(dest, after, acc)


def _open_failed(src: str, tmp: str, dest: str, e: OSError, existed: bool, acc: Acc) -> None:
    """cf-agent's lines when ``<dest>.cfnew`` cannot be opened."""
    if isinstance(e, safefs.LinkSevered):
        acc.log.error(cannot_follow(tmp))  # cf-agent names the file it was opening
    acc.log.info(f"Unable to open destination file while copying '{src}' to '{tmp}' "
                 f"(open: {e.strerror})")
    acc.fail(f"Failed copying file '{src}' to '{tmp}'")
    if existed:
        acc.fail(f"Was not able to copy '{src}' on 'localhost' to '{dest}'")
    else:
        acc.fail(f"Copy from 'localhost:{src}' failed")


def _publish(p: safefs.Parent, src: str, tmp: str, mode: int,
             owner_from: os.stat_result | None, dest: str, backup: str | None,
             acc: Acc) -> bool:
    """Write the new copy as ``<name>.cfnew`` in ``p`` (a new file, never a link; a
    leftover of that name is removed, never followed), keep the old destination as
    ``backup`` says (None: there was none), then rename the copy over it with
    ``mode``. On a failure the destination is untouched and ``.cfnew`` removed."""
    step = "open"
    try:
        with atomic_file(p.name, mode, dir_fd=p.fd, tmp_suffix=".cfnew") as staged:
            step = "copy"
            _fill(src, staged.file, owner_from)
            how = "permissions preserved" if owner_from is not None else f"mode '{mode:o}'"
            acc.repair(f"Copied file '{src}' to '{tmp}' ({how})")
            if backup is not None:
                _backup_at(p, dest, backup, acc)
            step = "move"  # atomic_file sets the mode, syncs and renames
    except OSError as e:
        if step == "open":
            _open_failed(src, tmp, dest, e, backup is not None, acc)
        elif step == "copy":
            acc.fail(f"Copy of '{src}' to '{tmp}' failed ({e.strerror})")
        else:
            acc.fail(f"Could not move '{tmp}' to '{dest}' ({e.strerror})")
        return False
    return True


def _backup_at(p: safefs.Parent, dest: str, policy: str, acc: Acc) -> None:
    """The old destination's inode becomes ``<dest>.cfsaved`` (a hard link)."""
    name = backup_name(p.name, policy, ".cfsaved")
    if name is None:
        return
    backup = os.path.join(os.path.dirname(dest), name)
    try:
        _unlink_at(p, name)
        os.link(p.name, name, src_dir_fd=p.fd, dst_dir_fd=p.fd, follow_symlinks=False)
        acc.repair(f"Backed up '{dest}' as '{backup}'")
    except OSError as e:
        acc.fail(f"Unable to back up '{dest}' as '{backup}' ({e.strerror})")


def _unlink_at(p: safefs.Parent, name: str) -> None:
    try:
        os.unlink(name, dir_fd=p.fd)
    except FileNotFoundError:
        pass
    except OSError:
        pass


def _verify_copy(path: str, after: AfterCopy | None, acc: Acc) -> None:
    from engine.promises.files.perms import verify_attributes

    perms, touch = after if after is not None else ({}, False)
    st = lstat_or_none(path)
    if st is None:
        return
    if not perms:
        acc.keep()
    verify_attributes(path, st, perms, touch, acc)


def _open_regular(path: str) -> io.BufferedReader:
    """A source file opened for reading; a FIFO or device is refused, not waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise OSError(errno.EINVAL, f"'{path}' is not a plain file")
    return f


def _fill(src: str, out: BinaryIO, owner_from: os.stat_result | None) -> None:
    """Fill the new copy ``out`` from ``src``; as root, give it ``owner_from``'s owner
    (before its mode is set: a chown clears the set-id bits)."""
    with _open_regular(src) as f:
        shutil.copyfileobj(f, out, _CHUNK)
    out.flush()
    if owner_from is not None and os.geteuid() == 0:
        os.fchown(out.fileno(), owner_from.st_uid, owner_from.st_gid)


def _copy_tree(src: str, dest: str, body: dict[str, object], acc: Acc, level: int,
               depth: int, after: AfterCopy, move: bool, tree: _Tree) -> None:
    dst = lstat_or_none(dest)
    # below the top, preserve gives what is there the source directory's mode first
    # (cf-agent does so even to a file it is about to move aside)
    keep_mode = level > 1 and _true(body.get("preserve"))
    if dst is None:
        # cf-agent makes a missing subdirectory of the destination even when only
        # warning or in a dry run (then says what it would copy into it)
        if not _mkdirs(_missing_dirs(dest), acc):
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
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError:
            continue
        if tree.flt.other_device(st, tree.dev):
            continue
        if stat.S_ISDIR(st.st_mode):
            if level < depth and not tree.flt.skip_dir(entry.path, entry.name):
                _copy_tree(entry.path, target, body, acc, level + 1, depth, after, move, tree)
        elif stat.S_ISREG(st.st_mode) and not tree.flt.skip_file(entry.path, st):
            copy_file(entry.path, st, target, body, acc, after)
    if _true(body.get("purge")):
        _purge(dest, names, acc)


def _preserve_mode(src: str, dest: str, acc: Acc) -> None:
    from engine.promises.files.perms import apply_perms

    sst, dst = stat_or_none(src), lstat_or_none(dest)
    if sst is not None and dst is not None:
        apply_perms(dest, dst, {"mode": f"{stat.S_IMODE(sst.st_mode):o}"}, acc)


def _purge(dest: str, keep: set[str], acc: Acc) -> None:
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


def _tls_settings(run: RunContext) -> tuple[str, str]:
    """``tls_ciphers`` and ``tls_min_version`` of body common control, read once a run."""
    cached = run.run_state.get("cfnet_tls")
    if not isinstance(cached, tuple):
        common = run.datastate().get("vars", {}).get("control_common", {})
        cached = tuple(str(common.get(k) or "") for k in ("tls_ciphers", "tls_min_version"))
        run.run_state["cfnet_tls"] = cached
    return cached[0], cached[1]


def _remote(servers: list[str], source: str, dest: str, body: dict[str, object], acc: Acc,
            run: RunContext, depth: int = 0, flt: CopyFilter | None = None,
            where: str = "") -> None:
    """Each server in turn until one answers. The transport is chosen per server:
    CFEngine's protocol (``engine.cfnet``) unless the port is vigil's own, and vigil's
    when the server presents a vigil key (or, no port named, nothing listens on
    CFEngine's 5308); the rest of this module never knows which."""
    from pathlib import Path

    from engine.cfnet.copy_remote import ServerUnusable, copy_from_cfengine
    from engine.trust.client import RemoteError, client_settings, copy_from_remote, split_server

    compare = str(body.get("compare", "mtime")).lower()
    mode = "exists" if compare == "exists" else "mtime" if compare in (
        "mtime", "ctime", "atime") else "digest"
    trustkey = _true(body.get("trustkey"))
    try:
        vigil_port = client_settings(Path(run.workdir)).port
    except RemoteError:
        vigil_port = 5310
    for server in servers:
        portnumber = str(body.get("portnumber") or "")
        host, port = split_server(server, int(portnumber) if portnumber.isdigit() else 5308)
        named = "]:" in server or server.count(":") == 1 or portnumber.isdigit()
        try:
            if port != vigil_port and copy_from_cfengine(
                    str(run.workdir), host, port, source, dest, body, depth, acc, _purge,
                    not named, _tls_settings(run), flt):
                return
        except ServerUnusable as e:
            (run.log.info if e.unreachable else run.log.error)(str(e))
            continue
        if named:
            server = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if flt is not None and flt.fs:  # vigil's own protocol copies one file, unfiltered
            run.log.error(f"{where}: file_select is not applied to a copy over vigil's own "
                          f"protocol (from '{server}'); the file is copied without it")
        try:
            r = copy_from_remote(run.workdir, server, source, dest, mode,  # type: ignore[arg-type]
                                 trustkey, dry_run=acc.warn_only)
        except RemoteError as e:
            run.log.error(str(e))
            run.log.info(f"Unable to establish connection to '{server}'")
            continue
        except OSError as e:
            run.log.error(f"Copy of '{source}' from '{server}' failed ({e})")
            continue
        if r.changed:
            if acc.warn_only:
                acc.should(f"update file '{dest}' from '{source}' on '{server}'")
            else:
                acc.repair(f"Updated file '{dest}' from '{server}:{source}'")
        return
    acc.fail(f"No suitable server found for '{dest}'")
