"""One file copied for ``copy_from``: compared with its source, written as
``<dest>.cfnew``, the old destination kept as a backup, renamed into place, as
cf-agent 3.21 does (see :mod:`engine.promises.files.copy_from`).

A copy keeps the source's holes: a block of zeros is not written (cf-agent's
sparse copy, for local copies as for remote ones).
"""

from __future__ import annotations

import errno
import io
import os
import stat

from engine.atomicwrite import atomic_file
from engine.promises import safefs
from engine.promises.files.create import missing_dirs, mkdirs
from engine.promises.files.fsutil import SparseWriter, backup_name, lstat_or_none
from engine.promises.safefs import cannot_follow

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import BinaryIO

    from engine.promises._acc import Acc
    from engine.promises.files.copy_link import SingleCopy
    from engine.promises.files.repository import Repository

_DIGEST = frozenset({"digest", "hash", "md5", "sha256", "sha1", "sha512", "binary"})
_TRUE = ("true", "yes", "on")
_CHUNK = 1 << 20


def _true(v: object, default: bool = False) -> bool:
    if v is None:
        return default
    return str(v).lower() in _TRUE


class CopyOpts:
    """What a promise adds to each file it copies: what cf-agent checks on the
    destination afterwards (``perms``, ``touch``), the run's ``files_single_copy``
    and the repository backups go to."""

    __slots__ = ("perms", "touch", "single", "repository", "ref")

    def __init__(self, perms: dict[str, object] | None = None, touch: bool = False,
                 single: SingleCopy | None = None, repository: Repository | None = None,
                 ref: str = "") -> None:
        self.perms: dict[str, object] = perms or {}
        self.touch = touch
        self.single = single
        self.repository = repository
        self.ref = ref  # cf-agent's line naming the promise ("Promise belongs to ...")


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
              acc: Acc, opts: CopyOpts | None = None) -> None:
    """Copy one file if ``compare`` says so; then check the destination's attributes
    as cf-agent does (a check that finds them as promised counts as kept). A
    destination ``files_single_copy`` names is copied to once a run."""
    opts = opts or CopyOpts()
    if opts.single is not None and opts.single.skip(dest, acc):
        return
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
    if parent and not os.path.isdir(parent) and not mkdirs(missing_dirs(parent), acc):
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
        done, saved = _publish(p, src, tmp, mode, sst if preserve else None, dest, backup, acc)
        if not done:
            return
        acc.repair(f"Moved '{tmp}' to '{dest}'")
        if saved is not None and opts.repository is not None:
            path = os.path.join(os.path.dirname(dest), saved)
            if opts.repository.keep(p, saved, path, acc):
                acc.log.info(f"Archived backup '{path}'")
    if dst is None:
        if opts.single is not None:
            opts.single.created(dest)
        _verify_copy(dest, opts, acc)
        acc.repair(f"Updated file '{dest}' from 'localhost:{src}'")
    else:
        acc.repair(f"Updated '{dest}' from source '{src}' on 'localhost'")
        _verify_copy(dest, opts, acc)


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
             acc: Acc) -> tuple[bool, str | None]:
    """Write the new copy as ``<name>.cfnew`` in ``p`` (a new file, never a link; a
    leftover of that name is removed, never followed), keep the old destination as
    ``backup`` says (None: there was none), then rename the copy over it with
    ``mode``. On a failure the destination is untouched and ``.cfnew`` removed.
    Whether it was published, and the name of the backup made in ``p``."""
    step = "open"
    saved = None
    try:
        with atomic_file(p.name, mode, dir_fd=p.fd, tmp_suffix=".cfnew") as staged:
            step = "copy"
            _fill(src, staged.file, owner_from)
            how = "permissions preserved" if owner_from is not None else f"mode '{mode:o}'"
            acc.repair(f"Copied file '{src}' to '{tmp}' ({how})")
            if backup is not None:
                saved = _backup_at(p, dest, backup, acc)
            step = "move"  # atomic_file sets the mode, syncs and renames
    except OSError as e:
        if step == "open":
            _open_failed(src, tmp, dest, e, backup is not None, acc)
        elif step == "copy":
            acc.fail(f"Copy of '{src}' to '{tmp}' failed ({e.strerror})")
        else:
            acc.fail(f"Could not move '{tmp}' to '{dest}' ({e.strerror})")
        return False, None
    return True, saved


def _backup_at(p: safefs.Parent, dest: str, policy: str, acc: Acc) -> str | None:
    """The old destination's inode becomes ``<dest>.cfsaved`` (a hard link); its
    name, None when none was made."""
    name = backup_name(p.name, policy, ".cfsaved")
    if name is None:
        return None
    backup = os.path.join(os.path.dirname(dest), name)
    try:
        _unlink_at(p, name)
        os.link(p.name, name, src_dir_fd=p.fd, dst_dir_fd=p.fd, follow_symlinks=False)
        acc.repair(f"Backed up '{dest}' as '{backup}'")
    except OSError as e:
        acc.fail(f"Unable to back up '{dest}' as '{backup}' ({e.strerror})")
        return None
    return name


def _unlink_at(p: safefs.Parent, name: str) -> None:
    try:
        os.unlink(name, dir_fd=p.fd)
    except FileNotFoundError:
        pass
    except OSError:
        pass


def _verify_copy(path: str, opts: CopyOpts, acc: Acc) -> None:
    from engine.promises.files.perms import verify_attributes

    st = lstat_or_none(path)
    if st is None:
        return
    if not opts.perms:
        acc.keep()
    verify_attributes(path, st, opts.perms, opts.touch, acc)


def _open_regular(path: str) -> io.BufferedReader:
    """A source file opened for reading; a FIFO or device is refused, not waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise OSError(errno.EINVAL, f"'{path}' is not a plain file")
    return f


def _fill(src: str, out: BinaryIO, owner_from: os.stat_result | None) -> None:
    """Fill the new copy ``out`` from ``src``, a block of zeros left as a hole (cf-agent
    keeps a sparse file sparse); as root, give it ``owner_from``'s owner (before its
    mode is set: a chown clears the set-id bits)."""
    sparse = SparseWriter(out)
    with _open_regular(src) as f:
        while chunk := f.read(_CHUNK):
            sparse.write(chunk)
    sparse.finish()
    if owner_from is not None and os.geteuid() == 0:
        os.fchown(out.fileno(), owner_from.st_uid, owner_from.st_gid)
