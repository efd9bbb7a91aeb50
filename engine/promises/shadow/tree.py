"""The shadow tree of a ``--simulate`` run: where files promises make their changes.

A real path ``/etc/motd`` is ``<root>/etc/motd`` in the shadow, ``<root>`` being
``WORKDIR/state/<pid>.changes`` (cf-agent's "changes chroot"). Before a promise acts
on a path, :meth:`Shadow.prepare` mirrors it from the real tree: its parent
directories (their mode and owner), then the object itself — a file with its content,
mode, owner and times; a directory with everything under it; a symbolic link with
its target made to point into the shadow (and that target mirrored too), so that
whatever follows the link stays inside. A path is mirrored once per run: a file the
run deleted in the shadow is not brought back by a later promise (cf-agent's chroot
would copy it in again).

Reads that do not change anything (a ``copy_from`` source, a template) see the
shadow's copy when the run has mirrored that path, else the real file
(:meth:`Shadow.view`): a file an earlier promise made exists only in the shadow.

The shadow also keeps what the report at the end of the run lists (:mod:`.report`):
the paths promises changed, the paths they evaluated without changing, and renames,
each in the order they happened.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Protocol

    class Logger(Protocol):  # engine.promises.base.Logger's part used here (base names us)
        def error(self, msg: str) -> None: ...

MODES = ("diff", "manifest", "manifest-full")
_COPY_CHUNK = 1 << 20
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Shadow:
    """One run's shadow tree and what its promises did there."""

    def __init__(self, root: str, mode: str, log: Logger) -> None:
        self.root = root.rstrip("/")
        self.mode = mode
        self.log = log
        self.changed: list[str] = []  # paths changed, as their promises name them
        self.evaluated: list[str] = []  # paths looked at (manifest-full lists them)
        self.renames: list[tuple[str, str]] = []  # (old name, new name)
        self.acting = False  # a files promise is being kept in the shadow now
        self._mirrored: set[str] = set()  # normalised real paths copied in, whole

    @classmethod
    def create(cls, statedir: str, mode: str, log: Logger) -> Shadow:
        """A fresh, empty shadow tree ``<statedir>/<pid>.changes`` (0700)."""
        root = os.path.join(os.path.abspath(statedir), f"{os.getpid()}.changes")
        if os.path.lexists(root):  # left by a run of an earlier process with this pid
            remove_tree(root)
        os.makedirs(os.path.dirname(root), mode=0o700, exist_ok=True)
        os.mkdir(root, 0o700)
        return cls(root, mode, log)

    # -- names ---------------------------------------------------------------------------

    def path(self, real: str) -> str:
        """Where the real path ``real`` is in the shadow (no mirroring); a path in the
        shadow already is that path."""
        if real.startswith(self.root + "/") or real == self.root:
            return real
        return self.root + (real if real.startswith("/") else os.path.abspath(real))

    def real(self, path: str) -> str:
        """The real path a shadow path stands for; any other path unchanged."""
        if path.startswith(self.root + "/"):
            return path[len(self.root):]
        return "/" if path == self.root else path

    def unshadow(self, text: str) -> str:
        """``text`` with every shadow path in it written as the real path it stands for
        (the agent's messages name real files, as cf-agent's do)."""
        return text.replace(self.root + "/", "/") if self.root in text else text

    def covered(self, real: str) -> bool:
        """Has the run mirrored ``real`` (or a directory above it) into the shadow?"""
        p = _norm(real)
        while True:
            if p in self._mirrored:
                return True
            if p == "/":
                return False
            p = os.path.dirname(p)

    def view(self, real: str) -> str:
        """The path to read ``real`` at: the shadow's copy once the run has mirrored
        it (it may have changed or gone there), else the real file."""
        return self.path(real) if self.covered(real) else real

    # -- mirroring -----------------------------------------------------------------------

    def prepare(self, real: str, whole: bool = True) -> str:
        """Mirror ``real`` into the shadow (once a run) and return its shadow path.
        ``whole=False`` (what a link leads to): a directory is made, with its mode and
        owner, but what is in it is mirrored only as promises reach it."""
        n = _norm(real)
        if not self.covered(n) and not self._inside(n):
            self._parents(n)
            if whole or not os.path.isdir(n) or os.path.islink(n):
                self._mirror(n)
            else:
                self._parents(n + "/.")
        return self.path(real)

    def _inside(self, n: str) -> bool:
        return n == self.root or n.startswith(self.root + "/")

    def _parents(self, n: str) -> None:
        """The directories above ``n`` that exist in the real tree, made in the shadow
        with their real mode and owner (a link among them becomes a directory)."""
        parts = n.split("/")[1:-1]
        p = ""
        for part in parts:
            p += "/" + part
            sp = self.root + p
            if os.path.lexists(sp):
                continue
            try:
                st = os.stat(p)
            except OSError:
                return  # not in the real tree: whoever needs it there makes it
            if not stat.S_ISDIR(st.st_mode):
                return
            try:
                os.mkdir(sp, 0o700)
                _attributes(sp, st)
            except OSError as e:
                self._failed(p, e)
                return

    def _mirror(self, n: str) -> None:
        self._mirrored.add(n)  # before descending: a link back up is not followed again
        try:
            st = os.lstat(n)
        except OSError:
            return  # nothing there: the shadow has nothing either
        self._copy(n, self.root + n, st)

    def _copy(self, real: str, sp: str, st: os.stat_result) -> None:
        mode = st.st_mode
        try:
            if stat.S_ISDIR(mode):
                self._copy_dir(real, sp, st)
                return
            if os.path.lexists(sp):
                return  # made in the shadow already, by this run
            if stat.S_ISLNK(mode):
                self._copy_link(real, sp, st)
            elif stat.S_ISREG(mode):
                _copy_file(real, sp)
                _attributes(sp, st)
            elif stat.S_ISFIFO(mode):
                os.mkfifo(sp, 0o600)
                _attributes(sp, st)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                os.mknod(sp, stat.S_IFMT(mode) | 0o600, st.st_rdev)
                _attributes(sp, st)
            # a socket cannot be copied: the shadow has none
        except OSError as e:
            self._failed(real, e)

    def _copy_dir(self, real: str, sp: str, st: os.stat_result) -> None:
        if not os.path.lexists(sp):
            os.mkdir(sp, 0o700)
        elif not os.path.isdir(sp) or os.path.islink(sp):
            return  # something else made in the shadow already, by this run
        with os.scandir(real) as it:
            entries = list(it)
        for entry in entries:
            child = entry.path
            if self._inside(child) or child in self._mirrored:
                # the shadow tree itself (under the real state directory), or a path
                # mirrored on its own before: what the run did to it stays
                continue
            try:
                cst = entry.stat(follow_symlinks=False)
            except OSError as e:
                self._failed(child, e)
                continue
            self._copy(child, self.root + child, cst)
        _attributes(sp, st)  # after the entries: making them changed its times

    def _copy_link(self, real: str, sp: str, st: os.stat_result) -> None:
        target = os.readlink(real)
        if target.startswith("/"):
            os.symlink(self.root + target, sp)
            beyond = target
        else:
            os.symlink(target, sp)
            beyond = os.path.join(os.path.dirname(real), target)
        _owner(sp, st, follow=False)
        self.prepare(beyond, whole=False)  # what it leads to: following it stays inside

    def _failed(self, real: str, e: OSError) -> None:
        self.log.error(f"Could not copy '{real}' into the shadow tree '{self.root}' "
                       f"({e.strerror or e})")

    def confined(self, argv: list[str]) -> list[str]:
        """``argv`` run so that it may write in the shadow tree only."""
        from engine.promises.shadow.confine import confined

        return confined(argv, self.root)

    # -- what happened -------------------------------------------------------------------

    def record_changed(self, real: str) -> None:
        self.changed.append(real)

    def record_evaluated(self, real: str) -> None:
        self.evaluated.append(real)

    def record_rename(self, old: str, new: str) -> None:
        self.renames.append((old, new))

    def remove(self) -> None:
        """Remove the shadow tree (the end of the run)."""
        try:
            remove_tree(self.root)
        except OSError as e:
            self.log.error(f"Could not remove the shadow tree '{self.root}' ({e.strerror or e})")


def _norm(real: str) -> str:
    return os.path.normpath(real if real.startswith("/") else os.path.abspath(real))


def _copy_file(src: str, dst: str) -> None:
    fd = os.open(src, _READ)
    try:
        out = os.open(dst, _WRITE, 0o600)
        try:
            while True:
                chunk = os.read(fd, _COPY_CHUNK)
                if not chunk:
                    break
                while chunk:
                    chunk = chunk[os.write(out, chunk):]
        finally:
            os.close(out)
    finally:
        os.close(fd)


def _owner(path: str, st: os.stat_result, follow: bool = True) -> None:
    try:
        os.chown(path, st.st_uid, st.st_gid, follow_symlinks=follow)
    except PermissionError:
        pass  # not root: the copy is the agent's user's


def _attributes(path: str, st: os.stat_result) -> None:
    """The real object's owner, mode and times on its copy."""
    _owner(path, st)
    os.chmod(path, stat.S_IMODE(st.st_mode))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def remove_tree(root: str) -> None:
    """Remove a shadow tree, directories the run made unreadable included."""
    def retry(func: object, path: str, exc: object) -> None:
        parent = os.path.dirname(path)
        try:
            os.chmod(parent, 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass

    try:
        shutil.rmtree(root, onerror=retry)
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
