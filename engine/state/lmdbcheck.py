"""Check a single-file LMDB environment *without mapping it*.

LMDB maps its data file; touching a mapped page that lies past the end of a
truncated file kills the process with SIGBUS, which no handler can catch, and a
0-byte file silently opens as a new, empty database. So before the agent maps
``cf_lock.lmdb`` or ``cf_state.lmdb`` it asks this module, which reads the file
with ``pread`` only:

* :func:`check` (the common path, tens of microseconds): size sanity, both meta
  pages (flags, magic, format version, page size), and every branch page of
  every tree, so that each page the tree can reach lies inside the file. Leaves
  are read only when the tree has overflow pages to locate.
* :func:`check` with ``deep=True``: every reachable page, every node's bounds.
  Used for files that look suspicious and once a day.

Reading a file that another process is writing can see a commit half-way (a
page reused under the walk). A verdict of "damaged" on a live file is therefore
confirmed while holding LMDB's writer lock before anything acts on it (see
``engine.state.lmdbstore``).

Files in a format this walker does not know (LMDB 1.0's data format) are
verified by opening and scanning them in a child process (:func:`verify_in_child`),
so a crash there costs the child, not the agent. ``python -m engine.state.lmdbcheck
FILE...`` runs the deep check and exits 1 when a file is damaged.

The layout read here is LMDB 0.9's on-disk format on 64-bit hosts (data format
version 1), which is what CFEngine and the bundled ``lmdb`` module write.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

from engine._records import Frozen, set_field
from engine.state._filetype import WrongFileType, check_regular, open_regular

MAGIC = 0xBEEFC0DE
DATA_VERSION = 1
P_INVALID = 0xFFFFFFFFFFFFFFFF

P_BRANCH = 0x01
P_LEAF = 0x02
P_OVERFLOW = 0x04
P_META = 0x08
P_LEAF2 = 0x20

F_BIGDATA = 0x01
F_SUBDATA = 0x02
F_DUPDATA = 0x04

PAGE_HDR = 16  # pgno u64, pad u16, flags u16, lower u16, upper u16
_HDR = struct.Struct("<QHHHH")
_META = struct.Struct("<IIQQ")  # magic, version, address, mapsize
_DB = struct.Struct("<IHHQQQQQ")  # pad, flags, depth, branch, leaf, overflow, entries, root
_TAIL = struct.Struct("<QQ")  # last_pg, txnid
_NODE = struct.Struct("<HHHH")  # lo, hi, flags, ksize
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class DbInfo(Frozen):
    """One tree's record in a meta page."""

    __match_args__ = ("flags", "depth", "branch_pages", "leaf_pages", "overflow_pages", "entries",
                      "root")
    __slots__ = __match_args__
    flags: int
    depth: int
    branch_pages: int
    leaf_pages: int
    overflow_pages: int
    entries: int
    root: int

    def __init__(self, flags: int, depth: int, branch_pages: int, leaf_pages: int,
                 overflow_pages: int, entries: int, root: int) -> None:
        set_field(self, "flags", flags)
        set_field(self, "depth", depth)
        set_field(self, "branch_pages", branch_pages)
        set_field(self, "leaf_pages", leaf_pages)
        set_field(self, "overflow_pages", overflow_pages)
        set_field(self, "entries", entries)
        set_field(self, "root", root)


class Meta(Frozen):
    """A meta page: format version, sizes, both trees, the transaction it closes."""

    __match_args__ = ("version", "map_size", "page_size", "free", "main", "last_pg", "txnid")
    __slots__ = __match_args__
    version: int
    map_size: int
    page_size: int
    free: DbInfo
    main: DbInfo
    last_pg: int
    txnid: int

    def __init__(self, version: int, map_size: int, page_size: int, free: DbInfo,
                 main: DbInfo, last_pg: int, txnid: int) -> None:
        set_field(self, "version", version)
        set_field(self, "map_size", map_size)
        set_field(self, "page_size", page_size)
        set_field(self, "free", free)
        set_field(self, "main", main)
        set_field(self, "last_pg", last_pg)
        set_field(self, "txnid", txnid)


class Health(Frozen):
    """Verdict on one file. ``ok`` False means: do not map it. ``suspicious``: fine
    to open, but worth a deep check. ``foreign``: something other than a damaged
    database (a directory, a FIFO, a file we may not read), never to be moved
    aside; ``reason`` then names the file."""

    __match_args__ = ("ok", "reason", "exists", "meta", "suspicious", "foreign")
    __slots__ = __match_args__
    ok: bool
    reason: str
    exists: bool
    meta: Meta | None
    suspicious: bool
    foreign: bool

    def __init__(self, ok: bool, reason: str = "", exists: bool = True,
                 meta: Meta | None = None, suspicious: bool = False,
                 foreign: bool = False) -> None:
        set_field(self, "ok", ok)
        set_field(self, "reason", reason)
        set_field(self, "exists", exists)
        set_field(self, "meta", meta)
        set_field(self, "suspicious", suspicious)
        # not a file we may move aside: not a regular file, or not readable by us
        set_field(self, "foreign", foreign)

    @property
    def entries(self) -> int | None:
        return self.meta.main.entries if self.meta else None


class Damaged(Exception):
    """The file is not a sound LMDB environment; the message says why."""


def _parse_meta(buf: bytes, off: int, expect_pgno: int) -> Meta:
    if len(buf) < off + PAGE_HDR + _META.size + 2 * _DB.size + _TAIL.size:
        raise Damaged(f"meta page {expect_pgno} is short")
    pgno, _pad, flags, _lo, _up = _HDR.unpack_from(buf, off)
    if not flags & P_META:
        raise Damaged(f"page {expect_pgno} is not a meta page (flags {flags:#x})")
    magic, version, _addr, mapsize = _META.unpack_from(buf, off + PAGE_HDR)
    if magic != MAGIC:
        raise Damaged(f"meta page {expect_pgno} has a bad magic number ({magic:#x})")
    pos = off + PAGE_HDR + _META.size
    free = DbInfo(*_DB.unpack_from(buf, pos)[1:])
    psize = _DB.unpack_from(buf, pos)[0]
    main = DbInfo(*_DB.unpack_from(buf, pos + _DB.size)[1:])
    last_pg, txnid = _TAIL.unpack_from(buf, pos + 2 * _DB.size)
    return Meta(version, mapsize, psize, free, main, last_pg, txnid)


def read_meta(fd: int, size: int) -> Meta:
    """Both meta pages must be sound (LMDB refuses the file otherwise); the one
    with the higher transaction id is current."""
    head = os.pread(fd, 4096 + 512, 0)
    m0 = _parse_meta(head, 0, 0)
    psize = m0.page_size
    if psize < 512 or psize > 65536 or psize & (psize - 1):
        raise Damaged(f"implausible page size {psize}")
    if size < 2 * psize:
        raise Damaged(f"{size} bytes is less than the two meta pages ({2 * psize} bytes)")
    m1 = _parse_meta(os.pread(fd, 512, psize), 0, 1)
    if m1.page_size != psize:
        raise Damaged("the two meta pages disagree on the page size")
    return m1 if m1.txnid > m0.txnid else m0


class _Walker:
    """Follows trees page by page with pread, never past the end of the file."""

    def __init__(self, fd: int, meta: Meta, npages: int, deep: bool) -> None:
        self.fd = fd
        self.psize = meta.page_size
        self.npages = npages
        self.limit = min(npages, meta.last_pg + 1)
        self.deep = deep
        self.seen: set[int] = set()
        self.pages_read = 0

    def page(self, pgno: int, what: str) -> bytes:
        if pgno >= self.limit:
            raise Damaged(
                f"{what} points at page {pgno}, beyond the end of the file ({self.npages} pages)"
            )
        if pgno in self.seen:
            raise Damaged(f"page {pgno} is reachable twice (a cycle or a shared page)")
        self.seen.add(pgno)
        buf = os.pread(self.fd, self.psize, pgno * self.psize)
        self.pages_read += 1
        if len(buf) < self.psize:
            raise Damaged(f"page {pgno} is cut short by the end of the file")
        stored = _U64.unpack_from(buf, 0)[0]
        if stored != pgno:
            raise Damaged(f"page {pgno} says it is page {stored}")
        return buf

    def tree(self, db: DbInfo, name: str) -> None:
        if db.root == P_INVALID:
            if db.entries or db.depth:
                raise Damaged(f"{name} tree has no root but claims {db.entries} entries")
            return
        if db.depth < 1 or db.depth > 32:
            raise Damaged(f"{name} tree has an implausible depth {db.depth}")
        read_leaves = self.deep or db.overflow_pages > 0 or bool(db.flags & F_SUBDATA)
        self._node(db.root, db.depth, name, read_leaves)

    def _pointers(self, buf: bytes, pgno: int) -> Iterator[int]:
        lower = _U16.unpack_from(buf, 12)[0]
        upper = _U16.unpack_from(buf, 14)[0]
        if lower < PAGE_HDR or lower > upper or upper > self.psize or (lower - PAGE_HDR) % 2:
            raise Damaged(f"page {pgno} has bad bounds (lower {lower}, upper {upper})")
        for i in range((lower - PAGE_HDR) // 2):
            off = _U16.unpack_from(buf, PAGE_HDR + 2 * i)[0]
            if off < upper or off + _NODE.size > self.psize:
                raise Damaged(f"page {pgno} node {i} lies outside the page")
            yield off

    def _node(self, pgno: int, level: int, name: str, read_leaves: bool) -> None:
        if level == 1 and not read_leaves:
            # A leaf we do not need to read: checking it lies inside the file is enough.
            if pgno >= self.limit:
                raise Damaged(
                    f"{name} tree points at page {pgno}, beyond the end of the file "
                    f"({self.npages} pages)"
                )
            return
        buf = self.page(pgno, f"{name} tree")
        flags = _HDR.unpack_from(buf, 0)[2]
        if level > 1:
            if not flags & P_BRANCH:
                raise Damaged(f"page {pgno} of the {name} tree should be a branch (flags {flags:#x})")
            for off in self._pointers(buf, pgno):
                lo, hi, fl, ksize = _NODE.unpack_from(buf, off)
                if off + _NODE.size + ksize > self.psize:
                    raise Damaged(f"page {pgno}: a key runs past the page")
                self._node(lo | (hi << 16) | (fl << 32), level - 1, name, read_leaves)
            return
        if flags & P_LEAF2:
            return  # fixed-size duplicate keys: no nodes to follow
        if not flags & P_LEAF:
            raise Damaged(f"page {pgno} of the {name} tree should be a leaf (flags {flags:#x})")
        for off in self._pointers(buf, pgno):
            lo, hi, fl, ksize = _NODE.unpack_from(buf, off)
            dsize = lo | (hi << 16)
            data_off = off + _NODE.size + ksize
            if fl & F_BIGDATA:
                if data_off + 8 > self.psize:
                    raise Damaged(f"page {pgno}: an overflow reference runs past the page")
                self._overflow(_U64.unpack_from(buf, data_off)[0], dsize, name)
                continue
            if data_off + dsize > self.psize:
                raise Damaged(f"page {pgno}: a value runs past the page")
            if fl & F_SUBDATA and dsize >= _DB.size:
                sub = DbInfo(*_DB.unpack_from(buf, data_off)[1:])
                self.tree(sub, f"{name} sub-database")

    def _overflow(self, pgno: int, dsize: int, name: str) -> None:
        need = (PAGE_HDR + dsize + self.psize - 1) // self.psize
        if pgno + need > self.limit:
            raise Damaged(f"{name} tree: overflow pages {pgno}..{pgno + need - 1} lie past the file")
        if self.deep:
            buf = self.page(pgno, f"{name} overflow")
            if not _HDR.unpack_from(buf, 0)[2] & P_OVERFLOW:
                raise Damaged(f"page {pgno} should be an overflow page")
            if _U32.unpack_from(buf, 12)[0] < need:
                raise Damaged(f"overflow run at page {pgno} is shorter than its value")


def check(path: str | os.PathLike[str], deep: bool = False) -> Health:
    """Decide whether ``path`` can be mapped safely. Never maps it."""
    try:
        fd = open_regular(path)  # never blocks on a FIFO, refuses a directory
    except FileNotFoundError:
        return Health(ok=True, exists=False)
    except WrongFileType as exc:
        return Health(ok=False, reason=str(exc), foreign=True)
    except OSError as exc:  # no permission, and the like: not ours to judge
        return Health(ok=False, reason=f"{os.fspath(path)}: {exc.strerror}", foreign=True)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return Health(ok=False, reason="the file is empty (0 bytes)")
        if size < 2 * 512:
            return Health(ok=False, reason=f"the file is only {size} bytes")
        meta = read_meta(fd, size)
        if meta.version != DATA_VERSION:
            return Health(
                ok=True, meta=meta, suspicious=True,
                reason=f"LMDB data format {meta.version}, not walked here",
            )
        # A writer may have grown the file since it was measured; the file never
        # shrinks, so measuring again after reading the meta pages covers every
        # page they can point at.
        size = max(size, os.fstat(fd).st_size)
        npages = size // meta.page_size
        suspicious = ""
        if size % meta.page_size:
            suspicious = f"size {size} is not a multiple of the page size {meta.page_size}"
        walker = _Walker(fd, meta, npages, deep)
        walker.tree(meta.free, "free-page")
        walker.tree(meta.main, "main")
        return Health(ok=True, meta=meta, suspicious=bool(suspicious), reason=suspicious)
    except Damaged as exc:
        return Health(ok=False, reason=str(exc))
    except (OSError, struct.error) as exc:
        return Health(ok=False, reason=f"unreadable: {exc}")
    finally:
        os.close(fd)


def check_lock_file(path: str | os.PathLike[str]) -> str | None:
    """Why LMDB must not open ``<path>-lock`` (its reader table), or None.

    Looked at with ``lstat``: a symbolic link is refused, never followed (LMDB
    would create or write through it), and so is anything but a regular file;
    the message names the ``-lock`` file, not the database."""
    return check_regular(f"{os.fspath(path)}-lock", follow=False)


_CHILD = """
import sys, lmdb
env = lmdb.open(sys.argv[1], subdir=False, readonly=True, lock=False, max_dbs=0)
n = 0
with env.begin() as txn:
    for _k, _v in txn.cursor():
        n += 1
print(n)
"""


def verify_in_child(path: str | os.PathLike[str], timeout: float = 30.0) -> Health:
    """Open and scan ``path`` with LMDB in a child process; a SIGBUS or an LMDB
    error there marks the file damaged without harming this process."""
    import subprocess

    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, os.fspath(path)],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        return Health(ok=False, reason=f"verification took longer than {timeout:.0f} s")
    if proc.returncode < 0:
        return Health(ok=False, reason=f"reading it killed a process with signal {-proc.returncode}")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["error"])[-1]
        return Health(ok=False, reason=last)
    return Health(ok=True)


def verify(path: str | os.PathLike[str]) -> Health:
    """The thorough check: a deep walk, or a child-process scan for formats the
    walker does not know."""
    health = check(path, deep=True)
    if health.ok and health.exists and health.meta and health.meta.version != DATA_VERSION:
        return verify_in_child(path)
    return health


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m engine.state.lmdbcheck FILE...", file=sys.stderr)
        return 2
    bad = 0
    for name in args:
        health = verify(Path(name))
        if not health.exists:
            print(f"{name}: missing")
            bad += 1
        elif health.ok:
            print(f"{name}: OK ({health.entries if health.entries is not None else '?'} entries)")
        else:
            print(f"{name}: DAMAGED: {health.reason}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
