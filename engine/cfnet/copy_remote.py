"""``copy_from`` with ``servers`` on a CFEngine server (cf-serverd, or a vigil
serverd speaking CFEngine's protocol).

Single files and trees (``depth_search``), ``compare`` ``digest`` (``MD5`` command:
the server says whether its file has our file's MD5), ``hash``/``binary`` (the same),
``mtime``/``ctime``/``atime`` (copy when the server's time is newer), ``exists``;
``purge`` (what the server does not list goes, through the local copier's purge);
``trustkey``; ``encrypt`` (the TLS protocol is always encrypted, so, as in cf-agent,
it changes nothing on the wire); ``verify`` (a second ``MD5`` after the copy).
``depth_search``'s ``exclude_dirs``/``include_dirs`` and the promise's ``file_select``
leave out the server's directories and files as in a local copy
(:class:`engine.promises.files.select.CopyFilter`, fed the server's ``STAT``).
Files are written to a temporary name beside the destination and renamed over it
once their size (and digest, with verify) is right.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_mod
from collections.abc import Callable
from typing import Any, Protocol

from engine.atomicwrite import atomic_file
from engine.cfnet.client import (
    CfConnection,
    NotCFEngine,
    RemoteStat,
    accept_unknown,
    connect,
    refuse_unknown,
)
from engine.promises.files.fsutil import SparseWriter
from engine.promises.files.select import CopyFilter
from engine.trust.client import RemoteError


class Outcome(Protocol):
    """What the promise accumulator offers (``engine.promises._acc.Acc``)."""

    warn_only: bool

    def repair(self, msg: str | None = None) -> None: ...
    def fail(self, msg: str | None = None) -> None: ...
    def keep(self) -> None: ...
    def should(self, what: str) -> None: ...


def _true(v: object) -> bool:
    return str(v).lower() in ("true", "yes", "on", "1") if v is not None else False


def _md5(path: str) -> bytes:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


# CFEngine's file types in a STAT reply, as the file type bits of st_mode
_TYPE_BITS = (stat_mod.S_IFREG, stat_mod.S_IFLNK, stat_mod.S_IFDIR, stat_mod.S_IFIFO,
              stat_mod.S_IFBLK, stat_mod.S_IFCHR, stat_mod.S_IFSOCK)


def as_stat(rst: RemoteStat) -> os.stat_result:
    """The server's ``STAT`` as a local stat result, for ``file_select``'s criteria."""
    kind = _TYPE_BITS[rst.type] if 0 <= rst.type < len(_TYPE_BITS) else stat_mod.S_IFREG
    return os.stat_result((kind | (rst.mode & 0o7777), rst.ino, rst.dev, rst.nlink, rst.uid,
                           rst.gid, rst.size, rst.atime, rst.mtime, rst.ctime))


class ServerUnusable(Exception):
    """The server could not be connected to or refused us: try the next one."""

    def __init__(self, message: str, unreachable: bool) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class RemoteCopy:
    def __init__(self, conn: CfConnection, server: str, body: dict[str, object], acc: Outcome,
                 purge: Callable[[str, set[str], Any], None],
                 flt: CopyFilter | None = None) -> None:
        self.c = conn
        self.flt = flt
        self.root_dev = -1  # the source's device, for xdev
        self.server = server
        self.body = body
        self.acc = acc
        self.purge_fn = purge
        compare = str(body.get("compare", "mtime")).lower()
        self.compare = compare if compare in ("exists", "digest", "hash", "binary") else "mtime"
        self.verify = _true(body.get("verify"))
        self.preserve = _true(body.get("preserve"))

    def needs_copy(self, src: str, rst: RemoteStat, dest: str) -> bool:
        try:
            lst = os.stat(dest)
        except FileNotFoundError:
            return True
        if self.compare == "exists":
            return False
        if self.compare in ("digest", "hash", "binary"):
            if lst.st_size != rst.size:
                return True
            return self.c.md5_differs(src, _md5(dest))
        return int(lst.st_mtime) < rst.mtime

    def file(self, src: str, rst: RemoteStat, dest: str) -> None:
        if os.path.isdir(dest) and not os.path.islink(dest):
            self.acc.fail(f"Cannot copy file '{self.server}:{src}' over directory '{dest}'")
            return
        if not self.needs_copy(src, rst, dest):
            self.acc.keep()
            return
        existed = os.path.lexists(dest)
        if self.acc.warn_only:
            self.acc.should(f"update file '{dest}' from '{src}' on '{self.server}'")
            return
        try:
            with atomic_file(dest, rst.mode & 0o7777) as staged:
                sparse = SparseWriter(staged.file)
                got = self.c.get(src, rst.size, sparse)
                sparse.finish()
                if got != rst.size:
                    raise RemoteError(f"'{src}' from '{self.server}': {got} bytes, expected "
                                      f"{rst.size}")
                if self.verify and self.c.md5_differs(src, _md5(staged.path)):
                    raise RemoteError(f"'{src}' from '{self.server}' does not verify (changed "
                                      "during the copy?)")
                if self.preserve:
                    os.utime(staged.path, (rst.atime, rst.mtime))
        except (RemoteError, OSError) as exc:
            self.acc.fail(f"Copy from '{self.server}:{src}' failed: {exc}")
            return
        self.acc.repair(f"Updated file '{dest}' from '{self.server}:{src}'" if existed else
                        f"Updated '{dest}' from source '{src}' on '{self.server}'")

    def tree(self, src: str, dest: str, level: int, depth: int) -> None:
        if not os.path.isdir(dest):
            if self.acc.warn_only:
                self.acc.should(f"make directory '{dest}'")
                return
            try:
                os.makedirs(dest, 0o700, exist_ok=True)
            except OSError as exc:
                self.acc.fail(f"Failed to make directory: {dest} (mkdir: {exc.strerror})")
                return
            self.acc.repair(f"Created directory '{dest}'")
        if level > depth:
            return
        names = self.c.opendir(src)
        for name in sorted(names):
            if "/" in name or name in ("", ".", ".."):
                self.acc.fail(f"'{self.server}' listed a bad name in '{src}': {name!r}")
                continue
            s, d = f"{src.rstrip('/')}/{name}", os.path.join(dest, name)
            try:
                rst = self.c.stat(s)
            except RemoteError as exc:
                if self.c.broken:
                    raise
                self.acc.fail(str(exc))
                continue
            flt = self.flt
            if flt is not None and flt.xdev and rst.dev != self.root_dev:
                continue
            if rst.is_dir:
                if flt is None or not flt.skip_dir(s, name):
                    self.tree(s, d, level + 1, depth)
            elif (stat_mod.S_ISREG(rst.mode | stat_mod.S_IFREG) and rst.type in (0, 1)
                  and (flt is None or not flt.skip_file(s, as_stat(rst)))):
                self.file(s, rst, d)
        if _true(self.body.get("purge")):
            self.purge_fn(dest, set(names), self.acc)


def copy_from_cfengine(workdir: str, host: str, port: int, source: str, dest: str,
                       body: dict[str, object], depth: int, acc: Outcome,
                       purge: Callable[[str, set[str], Any], None], fallback: bool = False,
                       tls: tuple[str, str] = ("", ""), flt: CopyFilter | None = None) -> bool:
    """Do the promise against a CFEngine server; False when the server turned out to
    be a vigil server, or (``fallback``: no port was named) nothing listens there: the
    caller then uses vigil's protocol. Errors are the promise's failures, with
    cf-agent's words where it has them. ``tls``: body common control's
    ``tls_ciphers`` and ``tls_min_version``; ``flt``: what the copy leaves out."""
    server = host if port == 5308 else f"{host}:{port}"
    on_unknown = accept_unknown if _true(body.get("trustkey")) else refuse_unknown
    try:
        conn = connect(workdir, host, port, on_unknown=on_unknown,
                       timeout=float(str(body.get("timeout") or 30)), tls_ciphers=tls[0],
                       tls_min_version=tls[1])
    except NotCFEngine:
        return False
    except RemoteError as exc:
        unreachable = str(exc).startswith("Unable to establish connection")
        if fallback and unreachable:
            return False
        # the next server is tried, as cf-agent tries each in turn; the caller logs a key
        # or trust problem (an absent server is only noted) and says "No suitable server
        # found" once none was usable
        raise ServerUnusable(str(exc), unreachable) from None
    with conn:
        rc = RemoteCopy(conn, server, body, acc, purge, flt)
        try:
            rst = conn.stat(source)
            rc.root_dev = rst.dev
            if rst.is_dir:
                rc.tree(source, dest, 1, depth)
            elif flt is not None and flt.skip_file(source, as_stat(rst)):
                pass  # a single copy's source is judged by file_select too
            else:
                parent = os.path.dirname(dest)
                if parent and not os.path.isdir(parent) and not acc.warn_only:
                    os.makedirs(parent, 0o755, exist_ok=True)
                    acc.repair(f"Created parent directory for '{dest}'")
                rc.file(source, rst, dest)
        except RemoteError as exc:
            if "STAT" in str(exc) and _true(body.get("missing_ok")):
                # missing_ok: a source the server does not have (it refuses to stat it,
                # as cf-serverd does) keeps the promise, as in cf-agent
                acc.keep()
                return True
            acc.fail(f"{exc}")
            acc.fail(f"Can't stat file '{source}' on '{server}' in files.copy_from promise"
                     if "STAT" in str(exc) else f"Copy from '{server}:{source}' failed")
        except OSError as exc:
            acc.fail(f"Copy from '{server}:{source}' failed ({exc.strerror or exc})")
    return True
