"""What ``--simulate`` prints at the end of the run, in cf-agent 3.21's words.

``manifest``: the renames, then each changed path once, in the order of the changes,
as it is in the shadow tree: its type, size, mode, owner, times, then the content of a
file (or ``File contains non-ASCII data``), the target of a link (as the real path it
stands for) or the names in a directory. ``manifest-full``: the same, then every other
path the run's files promises evaluated. ``diff``: the renames, then for each changed
path that exists in the real tree, ``diff -u`` of the real file (or directory) and the
shadow's; a new path is shown as in a manifest.

Each entry starts with a line of ``=`` as wide as ``$COLUMNS`` less five (at least 75).
Where cf-agent 3.21 shows the details of the *real* file for a path whose type the run
changed (its own mistake: the heading says what it became), vigil shows the shadow's.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import time

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.promises.base import Logger
    from engine.promises.shadow.tree import Shadow

BUFSIZE = 4096  # cf-agent reads a file in pieces this size, judging each for ASCII
_KINDS = {stat.S_IFBLK: "block device", stat.S_IFCHR: "character device",
          stat.S_IFDIR: "directory", stat.S_IFIFO: "FIFO/pipe", stat.S_IFLNK: "symbolic link",
          stat.S_IFREG: "regular file", stat.S_IFSOCK: "socket"}


def report(shadow: Shadow, log: Logger, out: Callable[[str], None]) -> None:
    """Print the run's renames and files as ``shadow.mode`` asks (``out`` takes text
    as is: these lines carry no log level), then the packages line."""
    w = _Writer(shadow, log, out)
    w.renames()
    done: set[str] = set()
    if shadow.mode == "diff":
        w.files(shadow.changed, done, "show diff for", "Showing diff for", "changed", w.diff)
    else:
        w.files(shadow.changed, done, "manifest", "Manifesting", "changed", w.manifest)
        if shadow.mode == "manifest-full":
            w.files(shadow.evaluated, done, "manifest", "Manifesting", "unmodified",
                    w.manifest)
    w.flush()
    log.info("No package operations done by the agent run")


class _Writer:
    """Collects the text of the report, handed on (whole lines) before each log line."""

    def __init__(self, shadow: Shadow, log: Logger, out: Callable[[str], None]) -> None:
        self.shadow = shadow
        self._log = log
        self._out = out
        self._parts: list[str] = []
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.strip().isdigit() else 0
        self.delimiter = "=" * (max(width, 80) - 5) + "\n"

    @property
    def log(self) -> Logger:
        self.flush()
        return self._log

    def out(self, text: str) -> None:
        self._parts.append(text)

    def flush(self) -> None:
        if self._parts:
            self._out("".join(self._parts))
            self._parts.clear()

    def renames(self) -> None:
        if not self.shadow.renames:
            return
        self.log.info("Manifesting renamed files (in the changes chroot)")
        for old, new in self.shadow.renames:
            self.out(f"{self.delimiter}'{new}' is the new name of '{old}'\n")

    def files(self, paths: list[str], done: set[str], action: str, acting: str,
              category: str, show: Callable[[str], None]) -> None:
        if not paths:
            self.log.info(f"No {category} files to {action}")
            return
        self.log.info(f"{acting} {category} files (in the changes chroot)")
        for path in paths:
            if path not in done:
                done.add(path)
                show(path)

    # -- manifest ------------------------------------------------------------------------

    def manifest(self, path: str) -> None:
        shadowed = self.shadow.path(path)
        self.out(self.delimiter)
        try:
            st = os.lstat(shadowed)
        except OSError:
            self.out(f"'{path}' no longer exists\n")
            return
        self.out(f"'{path}' is a {_kind(st)}\n")
        self._stat(st)
        self._details(shadowed, st)

    def _stat(self, st: os.stat_result) -> None:
        """As the ``stat`` command puts it."""
        m = st.st_mode
        chars = "".join((
            "r" if m & stat.S_IRUSR else "-", "w" if m & stat.S_IWUSR else "-",
            _x(m, stat.S_IXUSR, stat.S_ISUID, "s"),
            "r" if m & stat.S_IRGRP else "-", "w" if m & stat.S_IWGRP else "-",
            _x(m, stat.S_IXGRP, stat.S_ISGID, "s"),
            "r" if m & stat.S_IROTH else "-", "w" if m & stat.S_IWOTH else "-",
            _x(m, stat.S_IXOTH, stat.S_ISVTX, "t")))
        text = f"Size: {st.st_size}\nAccess: ({stat.S_IMODE(m):04o}/{chars})  "
        try:
            text += f"Uid: ({st.st_uid}/{pwd.getpwuid(st.st_uid).pw_name})   "
        except KeyError:
            self.log.error(f"Could not get user name for uid {st.st_uid}")
        try:
            text += f"Gid: ({st.st_gid}/{grp.getgrgid(st.st_gid).gr_name})\n"
        except KeyError:
            self.log.error(f"Could not get group name for gid {st.st_gid}")
        for what, t in (("Access", st.st_atime), ("Modify", st.st_mtime),
                        ("Change", st.st_ctime)):
            text += f"{what}: {time.strftime('%Y-%m-%d %H:%M:%S %z', time.localtime(t))}\n"
        self.out(text)

    def _details(self, shadowed: str, st: os.stat_result) -> None:
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFREG:
            self.out("\n")
            self._contents(shadowed)
        elif kind == stat.S_IFLNK:
            self.out("\n")
            try:
                target = os.readlink(shadowed)
            except OSError:
                self.out("Invalid target\n")
                return
            if target.startswith("/"):
                target = self.shadow.real(target)
            self.out(f"Target: '{target}'\n")
        elif kind == stat.S_IFDIR:
            self.out("\n")
            try:
                names = os.listdir(shadowed)  # in the directory's own order, as cf-agent
            except OSError as e:
                self.log.error(f"Failed to open the directory: {e.strerror}")
                return
            self.out("Directory contents:\n" + "".join(f"{n}\n" for n in names))

    def _contents(self, shadowed: str) -> None:
        try:
            fd = os.open(shadowed, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            self.log.error(f"Failed to open file for reading: {e.strerror}")
            return
        self.out("Contents of the file:\n")
        last = b"\n"
        with os.fdopen(fd, "rb") as f:
            while chunk := f.read(BUFSIZE):
                if not chunk.isascii():
                    self.out("File contains non-ASCII data\n")
                    return
                last = chunk[-1:]
                self.out(chunk.decode("ascii"))
        if last != b"\n":
            self.out("\n\\no newline at the end of file\n")

    # -- diff ----------------------------------------------------------------------------

    def diff(self, path: str) -> None:
        try:
            real = os.lstat(path)
        except OSError:
            self.manifest(path)  # new: nothing to compare it with
            return
        self.out(self.delimiter)
        shadowed = self.shadow.path(path)
        try:
            st = os.lstat(shadowed)
        except OSError:
            self.out(f"'{path}' no longer exists\n")
            return
        if stat.S_IFMT(real.st_mode) != stat.S_IFMT(st.st_mode):
            self.out(f"'{path}' changed type from {_kind(real)} to {_kind(st)}\n")
        elif stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
            self._run_diff(path, shadowed)
            return
        else:
            self.out(f"'{path}' is a {_kind(st)}\n")
        self._stat(st)
        self._details(shadowed, st)

    def _run_diff(self, path: str, shadowed: str) -> None:
        tool = shutil.which("diff") or "/usr/bin/diff"
        argv = [tool, "-u", "--label", f"original {path}", "--label", f"changed  {path}",
                path, shadowed]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  check=False)
        except OSError as e:
            self.log.error(f"'diff -u {path} {shadowed}' failed ({e.strerror})")
            return
        self.out(done.stdout.decode("utf-8", "replace"))
        if done.returncode not in (0, 1):
            self.log.error(f"'diff -u {path} {shadowed}' failed")


def _x(mode: int, exe: int, special: int, letter: str) -> str:
    if mode & special:
        return letter if mode & exe else letter.upper()
    return "x" if mode & exe else "-"


def _kind(st: os.stat_result) -> str:
    return _KINDS.get(stat.S_IFMT(st.st_mode), "unknown")
