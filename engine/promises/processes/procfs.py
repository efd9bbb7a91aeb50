"""The process table read straight from Linux's ``/proc``, one pass per run.

The agent reads the table once per run for ``processes`` promises. Through psutil
that cost tens of milliseconds on a quiet host: the module's import, then per
process several file reads and one ``/proc/stat`` read for the boot time, and a new
scan of ``/dev`` for the terminal names. Here each process costs four reads
(``stat``, ``status``, ``cmdline``, ``statm``) and the host-wide facts are read once.

Values are the ones psutil gives (and so what :mod:`engine.promises.processes.proctable`
recorded before): user from the *real* uid, ``args`` from ``cmdline`` split as psutil
splits it, sizes from ``statm`` (``stat``'s are approximate sums), start time
as boot time plus ``starttime`` ticks, nice from ``getpriority``, the terminal as
the ``/dev/tty*`` or ``/dev/pts/*`` path whose device number is the process's.
"""

from __future__ import annotations

import glob
import os
import sys

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: ``stat`` state letters as psutil names them
STATUSES = {
    "R": "running", "S": "sleeping", "D": "disk-sleep", "T": "stopped",
    "t": "tracing-stop", "Z": "zombie", "X": "dead", "x": "dead", "K": "wake-kill",
    "W": "waking", "I": "idle", "P": "parked",
}
_ENC = sys.getfilesystemencoding()
_ERRS = sys.getfilesystemencodeerrors()


def available() -> bool:
    """Whether this host has a Linux ``/proc`` to read."""
    return os.path.isfile("/proc/self/stat") and os.path.isfile("/proc/stat")


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks: list[bytes] = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)
    finally:
        os.close(fd)


def _readable(path: str) -> bytes | None:
    """The file's bytes, or None when this user may not read it (other errors raise)."""
    try:
        return _read(path)
    except PermissionError:
        return None


def _boot_time() -> float:
    for line in _read("/proc/stat").splitlines():
        if line.startswith(b"btime"):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def _mem_total() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith(b"MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def terminal_map() -> dict[int, str]:
    """Device number -> terminal path, from ``/dev/tty*`` and ``/dev/pts/*``."""
    out: dict[int, str] = {}
    for name in glob.glob("/dev/tty*") + glob.glob("/dev/pts/*"):
        try:
            out[os.stat(name).st_rdev] = name
        except OSError:
            pass
    return out


def _cmdline(data: str) -> list[str]:
    """psutil's split: NUL-separated, or space-separated for a process that rewrote
    its command line with spaces (and a lone trailing NUL)."""
    if not data:
        return []
    if "\r" in data:  # psutil reads the file in text mode: universal newlines
        data = data.replace("\r\n", "\n").replace("\r", "\n")
    sep = "\x00" if data.endswith("\x00") else " "
    if data.endswith(sep):
        data = data[:-1]
    parts = data.split(sep)
    if sep == "\x00" and len(parts) == 1 and " " in data:
        parts = data.split(" ")
    return parts


def _status_field(status: bytes, key: bytes) -> list[bytes] | None:
    i = status.find(b"\n" + key)
    if i < 0:
        return None
    end = status.find(b"\n", i + 1)
    return status[i + 1 + len(key):end if end >= 0 else None].split()


def rows(make: Callable[..., Any]) -> list[Any]:
    """``make(**columns)`` for every process, in pid order (the columns of
    :class:`engine.promises.processes.proctable.Proc`); processes that end while being read,
    or whose process group cannot be read, are left out, as psutil left them out."""
    import pwd
    import time

    ticks = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    boot = _boot_time()
    total_mem = _mem_total() or 1
    ttys = terminal_map()
    users: dict[int, str] = {}
    now = time.time()
    out = []
    for pid in sorted(int(x) for x in os.listdir("/proc") if x.isdigit()):
        base = f"/proc/{pid}/"
        try:
            # a file this user may not read (hidepid, another user's process) gives
            # the defaults psutil's unreadable values gave; a process gone is left out
            stat = _readable(base + "stat")
            status = _readable(base + "status")
            raw_cmd = _readable(base + "cmdline")
            statm_raw = _readable(base + "statm")
            pgid = os.getpgid(pid)
        except OSError:
            continue
        try:
            nice = os.getpriority(os.PRIO_PROCESS, pid)
        except OSError:
            nice = 0
        cmd = _cmdline(raw_cmd.decode(_ENC, _ERRS)) if raw_cmd is not None else []
        uid_f = _status_field(status, b"Uid:") if status is not None else None
        uid = int(uid_f[0]) if uid_f else -1
        threads_f = _status_field(status, b"Threads:") if status is not None else None
        if uid_f:
            user = users.get(uid)
            if user is None:
                try:
                    user = pwd.getpwuid(uid).pw_name
                except (KeyError, OverflowError):
                    user = ""
                user = user or str(uid)
                users[uid] = user
        else:
            user = str(uid)
        if stat is not None:
            rpar = stat.rfind(b")")
            name = stat[stat.find(b"(") + 1:rpar].decode(_ENC, _ERRS)
            f = stat[rpar + 2:].split()
            ppid = int(f[1])
            ttime = int(f[11]) / ticks + int(f[12]) / ticks
            start = int(f[19]) / ticks + boot
            tty = ttys.get(int(f[4])) or "?"
            state = STATUSES.get(f[0].decode(), "?")
        else:
            name, ppid, ttime, start, tty, state = "", 0, 0.0, now, "?", ""
        if tty.startswith("/dev/"):
            tty = tty[5:]
        statm = statm_raw.split() if statm_raw is not None else None
        rss = int(statm[1]) * page // 1024 if statm else 0
        elapsed = max(now - start, 1e-9)
        out.append(make(
            pid=pid, ppid=ppid or 0, pgid=pgid, user=user, uid=uid,
            args=" ".join(cmd) if cmd else f"[{name}]",
            vsize=int(statm[0]) * page // 1024 if statm else 0, rsize=rss, ttime=ttime,
            stime=start, priority=nice,
            threads=(int(threads_f[0]) if threads_f else 0) or 1, tty=tty, status=state,
            pcpu=min(999.9, 100.0 * ttime / elapsed), pmem=100.0 * rss * 1024 / total_mem,
        ))
    return out
