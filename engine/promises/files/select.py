"""``depth_search`` walks and ``file_select`` filters for recursive files promises.

``depth_search``: ``depth`` (a number or ``inf``; 1 = the directory's own
entries), ``include_basedir``, ``exclude_dirs`` / ``include_dirs`` (each pattern
the directory's name or whole path, literally or as an anchored regex, as
cf-agent matches them), ``traverse_links`` (default false: a symlink to a
directory is an entry, never a way out of the tree; when true, only a link
that another user could not have planted is followed), ``xdev`` (stay on one
file system). :class:`CopyFilter` is the same body (and ``file_select``) as a
recursive ``copy_from`` applies them to the source tree.

``file_select``: ``leaf_name`` and ``path_name`` (anchored regex lists),
``file_types`` (plain/reg, dir, symlink, fifo, socket, char, block),
``mtime``/``atime``/``ctime`` and ``search_size`` ranges, ``search_mode``,
``search_owners``/``search_groups``, ``issymlinkto``, ``search_bsdflags`` (never
met: Linux has no BSD flags, as cf-agent built there has none), ``exec_program``
(met when the command, ``$(this.promiser)`` the file, exits 0) and ``exec_regex``
(met when a line of that command's output matches); ``file_result``
combines them by cf-agent's names (``size``, ``mode``, ``owner``, ``group``,
``bsdflags`` for the ``search_`` ones). cf-agent refuses a body without
``file_result`` (see :func:`refusal`); where one gets here anyway, all the
criteria given must hold.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from collections.abc import Callable, Iterator

from engine.promises import safefs
from engine.promises._boolexpr import ExprError, evaluate, parse_range
from engine.promises.files.perms import ModeError, parse_mode

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises._acc import Acc

# Each criterion of the body and the name ``file_result`` gives it (cf-agent's names)
CRITERIA = {"leaf_name": "leaf_name", "path_name": "path_name", "file_types": "file_types",
            "mtime": "mtime", "atime": "atime", "ctime": "ctime", "search_size": "size",
            "search_mode": "mode", "search_owners": "owner", "search_groups": "group",
            "issymlinkto": "issymlinkto", "search_bsdflags": "bsdflags",
            "exec_program": "exec_program", "exec_regex": "exec_regex"}
# A criterion the body leaves out counts as met in ``file_result`` for these, as
# cf-agent has it; any other left out is not met.
_MET_WHEN_ABSENT = frozenset({"leaf_name", "owner", "group"})

_TYPES = {
    "plain": stat.S_ISREG, "reg": stat.S_ISREG, "dir": stat.S_ISDIR,
    "symlink": stat.S_ISLNK, "fifo": stat.S_ISFIFO, "socket": stat.S_ISSOCK,
    "char": stat.S_ISCHR, "block": stat.S_ISBLK,
}


def _list(v: object) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [str(x) for x in v if str(x) != "cf_null"]
    return [str(v)]


def _any_full(patterns: list[str], text: str) -> bool:
    for p in patterns:
        try:
            if re.fullmatch(p, text):
                return True
        except re.error:
            if p == text:
                return True
    return False


def _named(patterns: list[str], path: str, name: str) -> bool:
    """Does a pattern name a directory, by its name or its whole path? cf-agent takes a
    pattern equal to either first, then the pattern as an anchored regex."""
    for p in patterns:
        if p in (name, path):
            return True
        try:
            if re.fullmatch(p, name) or re.fullmatch(p, path):
                return True
        except re.error:
            continue
    return False


def dir_skipped(path: str, name: str, exclude: list[str], include: list[str]) -> bool:
    """Is the directory ``path`` (last node ``name``) left out of a depth search?"""
    if exclude and _named(exclude, path, name):
        return True
    return bool(include) and not _named(include, path, name)


class CopyFilter:
    """What a recursive ``copy_from`` leaves out of the source tree, as cf-agent does
    while it reads the source (local or on a server).

    A directory that ``exclude_dirs`` names, or ``include_dirs`` does not (by its name or
    its source path), is neither made nor entered; with ``traverse_links`` cf-agent prunes
    every subdirectory of a copy; with ``xdev`` an entry on another device than the
    source's top is passed over. A file the promise's ``file_select`` does not select,
    judged on the source file (its path and stat), is not copied. What is left out still
    counts as the source's for ``purge``: a destination entry of that name stays."""

    __slots__ = ("exclude", "include", "prune", "xdev", "fs")

    def __init__(self, ds: dict[str, object] | None, fs: dict[str, object] | None) -> None:
        ds = ds or {}
        self.exclude = _list(ds.get("exclude_dirs"))
        self.include = _list(ds.get("include_dirs"))
        self.prune = _true(ds.get("traverse_links"))
        self.xdev = _true(ds.get("xdev"))
        self.fs = fs or {}

    def skip_dir(self, path: str, name: str) -> bool:
        return self.prune or dir_skipped(path, name, self.exclude, self.include)

    def skip_file(self, path: str, st: os.stat_result) -> bool:
        return bool(self.fs) and not selected(path, st, self.fs)

    def other_device(self, st: os.stat_result, root_dev: int) -> bool:
        return self.xdev and st.st_dev != root_dev


def _true(v: object) -> bool:
    return v is not None and str(v).lower() in ("true", "yes", "on")


# Attributes of these bodies that vigil parses but does not act on
# (rmdeadlinks is acted on where cf-agent searches a tree for attributes: files._tree)
_NOT_ACTED_ON: dict[str, tuple[str, ...]] = {"file_select": (), "depth_search": ()}


def not_acted_on(ds: dict[str, object] | None, fs: dict[str, object] | None) -> list[str]:
    """Each attribute given in ``ds``/``fs`` that vigil does not act on, named with its
    body type."""
    out: list[str] = []
    for kind, body in (("depth_search", ds), ("file_select", fs)):
        if body:
            out += [f"attribute '{a}' of body {kind}" for a in _NOT_ACTED_ON[kind]
                    if body.get(a) not in (None, "")]
    return out


def refusal(fs: dict[str, object]) -> str | None:
    """cf-agent's sanity check on a promise's ``file_select`` body: without
    ``file_result`` it selects nothing and the whole promise is refused."""
    if fs.get("file_result") in (None, ""):
        return "File select constraint body promised no result (check body definition)"
    return None


def walk(root: str, ds: dict[str, object], acc: Acc | None = None,
         on_dir: Callable[[str], None] | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """Entries under ``root`` (depth-first, children before their directory).
    ``on_dir`` is told each directory whose entries have all been given (before the
    directory itself; ``root`` last).

    The tree is read through directory descriptors, each opened ``O_NOFOLLOW``
    relative to its parent, so a directory swapped for a symlink while the walk
    runs is not entered. With ``traverse_links`` a symlink is followed only when
    :func:`engine.promises.safefs.trusted` allows it; an untrusted or dangling
    one is reported through ``acc`` with cf-agent's words and left out."""
    raw = str(ds.get("depth", "0")).strip()
    depth = 1 << 30 if raw in ("inf", "infinity") else max(0, int(float(raw or 0)))
    follow = str(ds.get("traverse_links", "false")).lower() in ("true", "yes", "on")
    xdev = str(ds.get("xdev", "false")).lower() in ("true", "yes", "on")
    exclude = _list(ds.get("exclude_dirs"))
    include = _list(ds.get("include_dirs"))
    try:
        pfd = safefs.open_dir(root)
    except OSError:
        return
    try:
        fd = safefs.reopen(pfd, os.O_RDONLY | os.O_DIRECTORY)
        root_dev = os.fstat(fd).st_dev
    except OSError:
        return
    finally:
        os.close(pfd)
    walker = _Walker(depth, follow, xdev, root_dev, exclude, include, acc, on_dir)
    try:
        yield from walker.walk(fd, root.rstrip("/") or "/", 1)
    finally:
        os.close(fd)


class _Walker:
    __slots__ = ("depth", "follow", "xdev", "dev", "exclude", "include", "acc", "on_dir")

    def __init__(self, depth: int, follow: bool, xdev: bool, dev: int, exclude: list[str],
                 include: list[str], acc: Acc | None,
                 on_dir: Callable[[str], None] | None = None) -> None:
        self.depth = depth
        self.follow = follow
        self.xdev = xdev
        self.dev = dev
        self.exclude = exclude
        self.include = include
        self.acc = acc
        self.on_dir = on_dir

    def walk(self, dfd: int, d: str, level: int) -> Iterator[tuple[str, os.stat_result]]:
        if level > self.depth:
            return
        try:
            entries = list(os.scandir(dfd))
        except OSError:
            return
        prefix = d if d.endswith("/") else d + "/"
        for e in entries:
            p = prefix + e.name
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            sub = -1
            if stat.S_ISDIR(st.st_mode):
                if self._enter(e.name, p, st):
                    sub = _open_sub(e.name, dfd)
            elif self.follow and stat.S_ISLNK(st.st_mode):
                target = self._follow(e.name, p, dfd)
                if target is None:
                    continue
                tst = os.fstat(target)
                if stat.S_ISDIR(tst.st_mode) and self._enter(e.name, p, tst):
                    try:
                        sub = safefs.reopen(target, os.O_RDONLY | os.O_DIRECTORY)
                    except OSError:
                        sub = -1
                os.close(target)
            if sub >= 0:
                try:
                    yield from self.walk(sub, p, level + 1)
                finally:
                    os.close(sub)
            yield p, st
        if self.on_dir is not None:
            self.on_dir(d)

    def _enter(self, name: str, path: str, st: os.stat_result) -> bool:
        if dir_skipped(path, name, self.exclude, self.include):
            return False
        return not (self.xdev and st.st_dev != self.dev)

    def _follow(self, name: str, path: str, dfd: int) -> int | None:
        """What the link ``name`` in ``dfd`` points to (an ``O_PATH`` descriptor),
        or None after saying why it is not followed."""
        try:
            return safefs.follow_at(dfd, name)
        except safefs.LinkSevered:
            if self.acc is not None:
                self.acc.log.info(f"File '{path}' is an untrusted link: cfengine will not "
                                  "follow it with a destructive operation")
        except OSError as err:
            if self.acc is not None:
                self.acc.fail(f"Recurse was working on '{path}' when this failed. "
                              f"(stat: {err.strerror})")
        return None


def _open_sub(name: str, dfd: int) -> int:
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
                       | os.O_NONBLOCK, dir_fd=dfd)
    except OSError:
        return -1


def selected(path: str, st: os.stat_result, fs: dict[str, object]) -> bool:
    """Does ``path`` pass the ``file_select`` body ``fs``?"""
    if not fs:
        return True
    given = {CRITERIA[c]: c for c in CRITERIA if fs.get(c) not in (None, "", [])}
    cache: dict[str, bool] = {}

    def truth(name: str) -> bool:
        if name not in cache:
            attr = given.get(name)
            cache[name] = (_criterion(attr, path, st, fs) if attr is not None
                           else name in _MET_WHEN_ABSENT)
        return cache[name]

    if "exec_program" in given:
        truth("exec_program")  # cf-agent runs it for every file judged, whatever the result
    expr = fs.get("file_result")
    if not expr:
        return all(truth(c) for c in given)
    try:
        return evaluate(str(expr), truth)
    except ExprError:
        return False


def _criterion(name: str, path: str, st: os.stat_result, fs: dict[str, object]) -> bool:
    v = fs.get(name)
    if name == "leaf_name":
        return _any_full(_list(v), os.path.basename(path))
    if name == "path_name":
        return _any_full(_list(v), path)
    if name == "file_types":
        return any(_TYPES.get(t, lambda m: False)(st.st_mode) for t in _list(v))
    if name in ("mtime", "atime", "ctime", "search_size"):
        r = parse_range(v)
        if r is None:
            return False
        x = {"mtime": st.st_mtime, "atime": st.st_atime, "ctime": st.st_ctime,
             "search_size": st.st_size}[name]
        return r[0] <= x <= r[1]
    if name == "search_mode":
        have = stat.S_IMODE(st.st_mode)
        for spec in _list(v):
            try:
                plus, minus = parse_mode(spec)
            except ModeError:
                continue
            if have & plus == plus and have & minus == 0:
                return True
        return False
    if name == "search_owners":
        names = _list(v)
        try:
            owner = pwd.getpwuid(st.st_uid).pw_name
        except KeyError:
            owner = str(st.st_uid)
        return owner in names or str(st.st_uid) in names
    if name == "search_groups":
        names = _list(v)
        try:
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group = str(st.st_gid)
        return group in names or str(st.st_gid) in names
    if name == "exec_program":
        return _run_for(str(v), path, capture=False) == []
    if name == "exec_regex":
        lines = _run_for(str(fs.get("exec_program") or ""), path, capture=True)
        return lines is not None and any(_any_full(_list(v), ln) for ln in lines)
    if name == "issymlinkto":
        if not stat.S_ISLNK(st.st_mode):
            return False
        try:
            return _any_full(_list(v), os.readlink(path))
        except OSError:
            return False
    return False


def _run_for(command: str, path: str, capture: bool) -> list[str] | None:
    """``exec_program`` for one file: ``$(this.promiser)`` in the command is the file.
    Run without a shell, as cf-agent does; its output goes to the agent's own unless
    ``capture``. With ``capture``: the output's lines, whatever the exit status;
    without: ``[]`` when it exits 0, else None. None too for a command that cannot run."""
    import shlex
    import subprocess
    import sys

    command = command.replace("$(this.promiser)", path).replace("${this.promiser}", path)
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    if not argv:
        return None
    sys.stdout.flush()
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, check=False,
                              stdout=subprocess.PIPE if capture else None)
    except OSError:
        return None
    if not capture:
        return [] if done.returncode == 0 else None
    return done.stdout.decode("utf-8", "surrogateescape").splitlines()
