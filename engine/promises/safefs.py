"""File-system calls that refuse to follow symbolic links planted by other users.

Every path is looked up one component at a time, each step an
``openat(O_PATH|O_NOFOLLOW)`` relative to the directory reached before it, so
what is checked is what is acted on. A symbolic link met on the way (or as the
last component, when the call follows it) is followed only when it could not
have been planted by someone else: the link is owned by root or by the agent's
user, or it has the same owner and group as the object it points to. This is
cf-agent's rule; otherwise the call fails with ``ENOLINK`` ("Link has been
severed") as :class:`LinkSevered`. A lookup follows at most 40 links (``ELOOP``).

The final object is acted on through its descriptor (``/proc/self/fd/N`` of an
``O_PATH`` descriptor), or by name relative to its safely opened directory for
calls that never follow a last component (``unlink``, ``rmdir``, ``mkdir``,
``rename``, ``link``, ``open`` with ``O_CREAT|O_EXCL``). Opening never blocks on
a FIFO: ``O_NONBLOCK`` is always added.

Fast path: a directory is first opened with one ordinary ``open(O_PATH)`` and
kept when the kernel's name for it is exactly the path asked for, so no link
can have been crossed; only when it is not (a link is on the way, the path is
relative or not normalised) is the path walked component by component. Within
a :class:`Session` (one files promise) each directory is opened once.

Only Linux is supported: ``O_PATH``, ``readlinkat(fd, "")`` and ``/proc/self/fd``.
"""

from __future__ import annotations

import _thread
import errno
import os
import stat

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises.base import Logger

MAX_LINKS = 40
SEVERED = os.strerror(errno.ENOLINK)  # "Link has been severed"

_PATH = os.O_PATH | os.O_CLOEXEC
_LEAF = _PATH | os.O_NOFOLLOW
_DIR = _PATH | os.O_DIRECTORY
_CREATE_ONLY = os.O_CREAT | os.O_EXCL


class LinkSevered(OSError):
    """A lookup met a symbolic link it may not follow (``ENOLINK``).

    ``announce`` is the path cf-agent names in its ``Cannot follow symlink``
    line for the call that failed, or None when it prints no such line."""

    def __init__(self, path: str | None = None, announce: str | None = None) -> None:
        super().__init__(errno.ENOLINK, SEVERED, path)
        self.announce = announce


def cannot_follow(path: str) -> str:
    """cf-agent's error line for a link it refused to follow while opening ``path``."""
    return (f"Cannot follow symlink '{path}'; it is not owned by root or the user running "
            "this process, and the target owner and/or group differs from that of the "
            "symlink itself.")


def chdir_refused(d: str, risk: bool = True) -> tuple[str, str]:
    """cf-agent's two error lines when it cannot enter the directory ``d`` because a
    link on the way is refused; the first time it adds a sentence on the risk."""
    tail = (". There may be a symlink in the path that has a different owner from the owner "
            "of its target (security risk).") if risk else ""
    return cannot_follow(d), f"Failed to chdir into '{d}'. (chdir: '{SEVERED}'){tail}"


def refusal(e: BaseException) -> str | None:
    """The ``Cannot follow symlink`` line to print before reporting ``e``, if any."""
    if isinstance(e, LinkSevered) and e.announce:
        return cannot_follow(e.announce)
    return None


def note(log: Logger, e: BaseException) -> None:
    """Log the ``Cannot follow symlink`` line owed for ``e``, if any (as an error)."""
    line = refusal(e)
    if line:
        log.error(line)


def trusted(link: os.stat_result, target: os.stat_result) -> bool:
    """May a link with stat ``link`` be followed to an object with stat ``target``?"""
    uid = link.st_uid
    if uid == 0 or uid == os.geteuid():
        return True
    return uid == target.st_uid and link.st_gid == target.st_gid


# -- lookups -------------------------------------------------------------------------

def _parts(path: str) -> list[str]:
    return [c for c in path.split("/") if c and c != "."]


def _walk(base: int, parts: list[str], follow_last: bool, hops: list[int]) -> int:
    """An ``O_PATH`` descriptor for ``parts`` looked up from the directory ``base``
    (which stays open). Raises :class:`LinkSevered` (no path set) on a refused link."""
    cur = os.open(".", _DIR, dir_fd=base)
    try:
        last = len(parts) - 1
        for i, name in enumerate(parts):
            nxt = os.open(name, _LEAF, dir_fd=cur)
            try:
                st = os.fstat(nxt)
                if stat.S_ISLNK(st.st_mode) and (follow_last or i < last):
                    target = _follow(nxt, st, cur, hops)
                    os.close(nxt)
                    nxt = target
                    st = os.fstat(nxt)
                if i < last and not stat.S_ISDIR(st.st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            except BaseException:
                os.close(nxt)
                raise
            os.close(cur)
            cur = nxt
        return cur
    except BaseException:
        os.close(cur)
        raise


def _follow(link_fd: int, link_st: os.stat_result, dir_fd: int, hops: list[int]) -> int:
    """The object the link open as ``link_fd`` (in directory ``dir_fd``) points to."""
    hops[0] += 1
    if hops[0] > MAX_LINKS:
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
    target = os.readlink("", dir_fd=link_fd)  # readlinkat(fd, ""): this very link
    if not target:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
    if target.startswith("/"):
        root = os.open("/", _DIR)
        try:
            fd = _walk(root, _parts(target), True, hops)
        finally:
            os.close(root)
    else:
        fd = _walk(dir_fd, _parts(target), True, hops)
    try:
        if not trusted(link_st, os.fstat(fd)):
            raise LinkSevered()
    except BaseException:
        os.close(fd)
        raise
    return fd


def _leaf(dir_fd: int, name: str, follow: bool) -> int:
    fd = os.open(name, _LEAF, dir_fd=dir_fd)
    if not follow:
        return fd
    try:
        st = os.fstat(fd)
        if not stat.S_ISLNK(st.st_mode):
            return fd
        target = _follow(fd, st, dir_fd, [0])
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return target


def _open_dir(d: str) -> int:
    """An ``O_PATH`` descriptor of the directory ``d``, reached under the link rule."""
    if d.startswith("/") and os.path.normpath(d) == d:
        try:
            fd = os.open(d, _DIR)
        except OSError:
            fd = -1  # the walk below says why, in its own terms
        if fd >= 0:
            try:
                if os.readlink(f"/proc/self/fd/{fd}") == d:
                    return fd
            except OSError:
                pass
            os.close(fd)
    start = "/" if d.startswith("/") else "."
    base = os.open(start, _DIR)
    try:
        return _walk(base, _parts(d), True, [0])
    finally:
        os.close(base)


def _split(path: str) -> tuple[str, str]:
    """(directory, last component); ``/`` is ``.`` in itself."""
    path = path.rstrip("/") or "/"
    if path == "/":
        return "/", "."
    d, name = os.path.split(path)
    return d or ".", name


class Session:
    """Within it, each directory is opened under the link rule once and kept, as
    cf-agent enters a file's directory once per promise: ``with Session(): ...``.

    Sessions nest. A directory kept by an earlier session is used again only
    while its path still names that very directory (one ``stat``); the kept
    descriptors are bounded (``KEEP``) and trimmed when the outermost session
    ends, never while one is open. One cache per thread."""

    __slots__ = ()

    def __enter__(self) -> Session:
        depth = getattr(_local, "depth", 0)
        if not depth:
            _local.seen = set()  # directories checked in this session
            if getattr(_local, "kept", None) is None:
                _local.kept = {}
        _local.depth = depth + 1
        return self

    def __exit__(self, *exc: object) -> None:
        _local.depth -= 1
        if not _local.depth:
            kept = _local.kept
            while len(kept) > KEEP:
                os.close(kept.pop(next(iter(kept)))[0])


KEEP = 16
_local = _thread._local()


def _kept_dir(d: str) -> int:
    """The directory ``d`` from the session cache, opened and kept if need be."""
    kept: dict[str, tuple[int, int, int]] = _local.kept
    ent = kept.get(d)
    if ent is not None:
        seen: set[str] = _local.seen
        if d in seen:
            return ent[0]
        try:
            st = os.stat(d)
            if (st.st_dev, st.st_ino) == (ent[1], ent[2]):
                seen.add(d)
                return ent[0]
        except OSError:
            pass
        del kept[d]
        os.close(ent[0])
    fd = _open_dir(d)
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    kept[d] = (fd, st.st_dev, st.st_ino)
    _local.seen.add(d)
    return fd


class Parent:
    """The directory holding ``path``, opened under the link rule, and the last
    component's name in it. A context manager: the descriptor is closed on exit
    (unless a :class:`Session` keeps it).

    A refused link on the way raises :class:`LinkSevered` announcing the directory."""

    __slots__ = ("fd", "name", "dir", "own")

    def __init__(self, path: str) -> None:
        self.dir, self.name = _split(path)
        self.own = not getattr(_local, "depth", 0)
        try:
            self.fd = _open_dir(self.dir) if self.own else _kept_dir(self.dir)
        except LinkSevered:
            raise LinkSevered(path, self.dir) from None

    def __enter__(self) -> Parent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0 and self.own:
            os.close(self.fd)
        self.fd = -1

    def leaf(self, follow: bool) -> int:
        """An ``O_PATH`` descriptor of the last component, following it (under the
        rule) when ``follow`` and it is a link. Raises bare :class:`LinkSevered`."""
        return _leaf(self.fd, self.name, follow)

    def lstat(self) -> os.stat_result:
        return os.stat(self.name, dir_fd=self.fd, follow_symlinks=False)


def _is_link(p: Parent) -> bool:
    try:
        return stat.S_ISLNK(p.lstat().st_mode)
    except OSError:
        return False


def _proc(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


def _object(p: Parent, path: str) -> int:
    """An ``O_PATH`` descriptor of the object ``p`` names, a trusted link followed;
    a refused last link raises :class:`LinkSevered` with nothing to announce."""
    try:
        return p.leaf(True)
    except LinkSevered:
        raise LinkSevered(path) from None


# -- the calls -----------------------------------------------------------------------

def open_dir(path: str) -> int:
    """An ``O_PATH`` descriptor of the directory ``path`` (for ``dir_fd`` arguments).
    A refused link raises :class:`LinkSevered` announcing ``path``."""
    try:
        return _open_dir(path)
    except LinkSevered:
        raise LinkSevered(path, path) from None


def follow_at(dir_fd: int, name: str) -> int:
    """An ``O_PATH`` descriptor of what ``name`` in the directory ``dir_fd`` is,
    or points to when it is a trusted link; :class:`LinkSevered` when untrusted."""
    return _leaf(dir_fd, name, True)


def reopen(fd: int, flags: int) -> int:
    """A real descriptor (``O_RDONLY|O_DIRECTORY`` and the like) for an ``O_PATH`` one."""
    return os.open(".", flags | os.O_CLOEXEC, dir_fd=fd) if flags & os.O_DIRECTORY \
        else os.open(_proc(fd), flags | os.O_CLOEXEC | os.O_NONBLOCK)


def safe_open(path: str, flags: int, mode: int = 0o600) -> int:
    """``open(2)`` under the link rule. ``O_CREAT|O_EXCL`` never follows the last
    component; otherwise a last-component link is followed when trusted. A refusal
    anywhere announces ``path``, as cf-agent's ``safe_open`` does."""
    flags |= os.O_CLOEXEC | os.O_NONBLOCK
    try:
        with Parent(path) as p:
            try:
                return os.open(p.name, flags | os.O_NOFOLLOW, mode, dir_fd=p.fd)
            except OSError as e:
                # the last component may be a link: O_NOFOLLOW says ELOOP, or
                # EACCES with O_CREAT in a sticky directory
                if flags & _CREATE_ONLY == _CREATE_ONLY or not _is_link(p):
                    raise e from None
            fd = p.leaf(True)
            try:
                return os.open(_proc(fd), flags & ~(_CREATE_ONLY | os.O_NOFOLLOW))
            finally:
                os.close(fd)
    except LinkSevered:
        raise LinkSevered(path, path) from None


def safe_lstat(path: str) -> os.stat_result:
    """``lstat(2)``; the directories on the way are walked under the link rule."""
    with Parent(path) as p:
        return p.lstat()


def safe_stat(path: str) -> os.stat_result:
    """``stat(2)``, following a last-component link only when trusted."""
    with Parent(path) as p:
        fd = _object(p, path)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)


def safe_chmod(path: str, mode: int) -> None:
    """``chmod(2)`` on the object itself (a trusted link is followed; an untrusted
    one fails quietly, as cf-agent's ``safe_chmod`` does)."""
    with Parent(path) as p:
        try:  # not a link: fchmodat(AT_SYMLINK_NOFOLLOW) acts on what it looked at
            os.chmod(p.name, mode, dir_fd=p.fd, follow_symlinks=False)
            return
        except (ValueError, NotImplementedError):
            pass  # a link (Python's words for EOPNOTSUPP there)
        fd = _object(p, path)
        try:
            os.chmod(_proc(fd), mode)
        finally:
            os.close(fd)


def safe_chown(path: str, uid: int, gid: int, follow: bool = True) -> None:
    """``chown(2)`` (``follow``) or ``lchown(2)`` under the link rule."""
    with Parent(path) as p:
        if not follow:
            os.chown(p.name, uid, gid, dir_fd=p.fd, follow_symlinks=False)
            return
        fd = _object(p, path)  # by descriptor: a link swapped in is never chowned
        try:
            os.chown(_proc(fd), uid, gid)
        finally:
            os.close(fd)


def safe_utime(path: str, ns: tuple[int, int] | None = None) -> None:
    """``utime(2)``: now, or ``ns`` (atime, mtime in nanoseconds)."""
    with Parent(path) as p:
        if not _is_link(p):
            # a link swapped in meanwhile only has its own times set: never followed
            if ns is None:
                os.utime(p.name, dir_fd=p.fd, follow_symlinks=False)
            else:
                os.utime(p.name, ns=ns, dir_fd=p.fd, follow_symlinks=False)
            return
        fd = _object(p, path)
        try:
            if ns is None:
                os.utime(_proc(fd))
            else:
                os.utime(_proc(fd), ns=ns)
        finally:
            os.close(fd)


def safe_unlink(path: str) -> None:
    """``unlink(2)`` (never follows the last component)."""
    with Parent(path) as p:
        os.unlink(p.name, dir_fd=p.fd)


def safe_rmdir(path: str) -> None:
    with Parent(path) as p:
        os.rmdir(p.name, dir_fd=p.fd)


def safe_mkdir(path: str, mode: int = 0o700) -> None:
    with Parent(path) as p:
        os.mkdir(p.name, mode, dir_fd=p.fd)


def safe_rename(src: str, dst: str) -> None:
    """``rename(2)``; neither last component is followed."""
    with Parent(src) as a, Parent(dst) as b:
        os.rename(a.name, b.name, src_dir_fd=a.fd, dst_dir_fd=b.fd)


def parent_refused(path: str) -> str | None:
    """The directory of ``path`` when reaching it crosses a refused link, else None."""
    try:
        Parent(path).close()
    except LinkSevered as e:
        return e.announce
    except OSError:
        pass
    return None


def resolve(path: str) -> tuple[Parent, os.stat_result]:
    """The real location of ``path``: its directory (opened) and name there, after
    following a trusted last-component link, and the object's ``lstat``.

    Used by writers that replace a file by renaming a new one over it. A refused
    link raises :class:`LinkSevered` announcing ``path``."""
    try:
        p = Parent(path)
        try:
            st = p.lstat()
            if not stat.S_ISLNK(st.st_mode):
                return p, st
            fd = p.leaf(True)
        except BaseException:
            p.close()
            raise
        p.close()
        try:
            real = os.readlink(_proc(fd))
            want = os.fstat(fd)
        finally:
            os.close(fd)
        q = Parent(real)
        try:
            st = q.lstat()
            if (st.st_dev, st.st_ino) != (want.st_dev, want.st_ino):
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        except BaseException:
            q.close()
            raise
        return q, st
    except LinkSevered:
        raise LinkSevered(path, path) from None
