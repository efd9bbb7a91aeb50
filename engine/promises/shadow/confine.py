"""Run a command that may write in the shadow tree only (a ``transformer`` under
``--simulate``).

cf-agent runs a transformer in its simulate mode with the promiser's path in the
command replaced by the path of its copy in the changes chroot, and whatever else the
command writes is written for real. vigil runs it the same way, in a private mount
namespace where every mount is read-only but the shadow tree: what the command writes
outside the shadow fails (``Read-only file system``) instead of changing the host. This
needs root (``CAP_SYS_ADMIN``); where the namespace cannot be made, the command is not
run and says why (exit code 126).

This file is also the program that does it: ``python confine.py ROOT -- ARGV...``
makes the namespace, then executes ARGV. It imports nothing of vigil.
"""

from __future__ import annotations

import os
import sys

CANNOT_CONFINE = 126
_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME, _MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
# the per-mount flags a read-only bind remount must keep (it would clear the others)
_KEEP = {"nosuid": _MS_NOSUID, "nodev": _MS_NODEV, "noexec": _MS_NOEXEC,
         "noatime": _MS_NOATIME, "nodiratime": _MS_NODIRATIME, "relatime": _MS_RELATIME,
         "strictatime": _MS_STRICTATIME}


def confined(argv: list[str], writable: str) -> list[str]:
    """The command line that runs ``argv`` with only ``writable`` writable."""
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), writable, "--", *argv]


def _unescape(field: str) -> str:
    """A mount point as /proc/self/mountinfo writes it (``\\040`` a space)."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _mounts() -> list[tuple[str, int]]:
    """Each mount point and the per-mount flags to keep, from /proc/self/mountinfo."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 6:
                continue
            flags = 0
            for opt in fields[5].split(","):
                flags |= _KEEP.get(opt, 0)
            found.append((_unescape(fields[4]), flags))
    return found


def _confine(writable: str) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.c_ulong, ctypes.c_void_p]

    def mount(source: str | None, target: str, flags: int) -> None:
        src = None if source is None else os.fsencode(source)
        if libc.mount(src, os.fsencode(target), None, flags, None) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"mount {target}: {os.strerror(e)}")

    if libc.unshare(_CLONE_NEWNS) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"unshare: {os.strerror(e)}")
    mount(None, "/", _MS_REC | _MS_PRIVATE)  # nothing done here reaches the host
    mount(writable, writable, _MS_BIND | _MS_REC)
    for point, keep in reversed(_mounts()):
        if point == writable or point.startswith(writable.rstrip("/") + "/"):
            continue
        mount(None, point, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | keep)


def main(args: list[str]) -> int:
    if len(args) < 3 or args[1] != "--":
        print("usage: confine.py WRITABLE -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    writable, argv = args[0], args[2:]
    try:
        _confine(writable)
    except OSError as e:
        print(f"cannot keep the command to '{writable}' ({e.strerror or e}): not run",
              file=sys.stderr)
        return CANNOT_CONFINE
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        print(f"{argv[0]}: {e.strerror}", file=sys.stderr)
        return 127
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
