"""A ``struct stat`` as the C library lays it out, for :mod:`engine.state.changes`.

cf-agent stores the raw structure in its changes database. Two layouts cover the
Linux machines vigil runs on: x86_64's (144 bytes) and the generic one of aarch64 and
most newer ports (128 bytes). Elsewhere the x86_64 layout is used: vigil then reads
what it wrote, though cf-agent on that machine would not.
"""

from __future__ import annotations

import os
import platform
import struct

from engine._records import Frozen, set_field

# dev, ino, nlink, mode, uid, gid, pad, rdev, size, blksize, blocks, [atime, mtime, ctime]
_X86_64 = struct.Struct("<QQQIIIiQqqq" + "qq" * 3 + "24x")
# dev, ino, mode, nlink, uid, gid, rdev, pad, size, blksize, pad, blocks, [times]
_GENERIC = struct.Struct("<QQIIIIQQqiiq" + "qq" * 3 + "8x")

_LAYOUT = _GENERIC if platform.machine() in ("aarch64", "arm64", "riscv64", "loongarch64") \
    else _X86_64


class StatRecord(Frozen):
    """What cf-agent compares of a stored stat: mode, owner, group, device, inode, mtime."""

    __slots__ = ("mode", "uid", "gid", "dev", "ino", "mtime")
    __match_args__ = ("mode", "uid", "gid", "dev", "ino", "mtime")
    mode: int
    uid: int
    gid: int
    dev: int
    ino: int
    mtime: int

    def __init__(self, mode: int, uid: int, gid: int, dev: int, ino: int, mtime: int) -> None:
        for name, value in zip(self.__slots__, (mode, uid, gid, dev, ino, mtime), strict=True):
            set_field(self, name, value)

    @classmethod
    def of(cls, st: os.stat_result) -> StatRecord:
        return cls(st.st_mode, st.st_uid, st.st_gid, st.st_dev, st.st_ino, int(st.st_mtime))


def _ts(ns: int) -> tuple[int, int]:
    return ns // 1_000_000_000, ns % 1_000_000_000


def pack(st: os.stat_result) -> bytes:
    times = (*_ts(st.st_atime_ns), *_ts(st.st_mtime_ns), *_ts(st.st_ctime_ns))
    blocks = getattr(st, "st_blocks", 0)
    blksize = getattr(st, "st_blksize", 0)
    rdev = getattr(st, "st_rdev", 0)
    if _LAYOUT is _X86_64:
        return _LAYOUT.pack(st.st_dev, st.st_ino, st.st_nlink, st.st_mode, st.st_uid,
                            st.st_gid, 0, rdev, st.st_size, blksize, blocks, *times)
    return _LAYOUT.pack(st.st_dev, st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid,
                        rdev, 0, st.st_size, blksize, 0, blocks, *times)


def unpack(raw: bytes) -> StatRecord | None:
    """The compared fields of a stored stat; None for a record of another size."""
    if len(raw) < _LAYOUT.size:
        return None
    f = _LAYOUT.unpack_from(raw)
    if _LAYOUT is _X86_64:
        dev, ino, mode, uid, gid, mtime = f[0], f[1], f[3], f[4], f[5], f[13]
    else:
        dev, ino, mode, uid, gid, mtime = f[0], f[1], f[2], f[4], f[5], f[14]
    return StatRecord(mode, uid, gid, dev, ino, mtime)
