"""The process table as ``processes`` promises see it, read once per run (from ``/proc``
on Linux, :mod:`engine.promises.processes.procfs`; through psutil elsewhere).

Each :class:`Proc` holds the columns cf-agent reads from
``ps -eo user,pid,ppid,pgid,pcpu,pmem,vsz,ni,rss,tname,nlwp,stime,etime,time,args``;
``args`` is the command line (``[name]`` for kernel threads), which is what a
promiser regex is searched in. :func:`ps_line` renders a row the way cf-agent
quotes it in its messages.
"""

from __future__ import annotations

import os
import time
import weakref

from engine._records import Record

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

_CACHE: weakref.WeakKeyDictionary[Any, list[Proc]] = weakref.WeakKeyDictionary()
_FALLBACK: dict[int, tuple[Any, list[Proc]]] = {}


class Proc(Record):
    """One row: sizes in kB, ``ttime`` CPU seconds, ``stime`` the start (epoch
    seconds), ``priority`` the nice value."""

    __match_args__ = ("pid", "ppid", "pgid", "user", "uid", "args", "vsize", "rsize", "ttime",
                      "stime", "priority", "threads", "tty", "status", "pcpu", "pmem")
    __slots__ = __match_args__

    def __init__(self, pid: int, ppid: int, pgid: int, user: str, uid: int, args: str,
                 vsize: int, rsize: int, ttime: float, stime: float, priority: int,
                 threads: int, tty: str, status: str, pcpu: float, pmem: float) -> None:
        self.pid = pid
        self.ppid = ppid
        self.pgid = pgid
        self.user = user
        self.uid = uid
        self.args = args
        self.vsize = vsize
        self.rsize = rsize
        self.ttime = ttime
        self.stime = stime
        self.priority = priority
        self.threads = threads
        self.tty = tty
        self.status = status
        self.pcpu = pcpu
        self.pmem = pmem


def table(run: object) -> list[Proc]:
    """The process table, read on first use in this run and reused after."""
    try:
        cached = _CACHE.get(run)
    except TypeError:
        hit = _FALLBACK.get(id(run))
        cached = hit[1] if hit and hit[0] is run else None
    if cached is not None:
        return cached
    procs = read()
    try:
        _CACHE[run] = procs
    except TypeError:
        _FALLBACK.clear()
        _FALLBACK[id(run)] = (run, procs)
    return procs


def forget(run: object) -> None:
    """Drop the cached table (after signals, for a later promise to see the change)."""
    try:
        _CACHE.pop(run, None)
    except TypeError:
        _FALLBACK.pop(id(run), None)


def read() -> list[Proc]:
    from engine.promises.processes import procfs

    if procfs.available():
        return procfs.rows(Proc)
    return _read_psutil()


def _read_psutil() -> list[Proc]:
    """The table through psutil, where there is no Linux ``/proc``."""
    import psutil

    now = time.time()
    total_mem = psutil.virtual_memory().total or 1
    attrs = ["pid", "ppid", "username", "uids", "cmdline", "name", "memory_info",
             "cpu_times", "create_time", "nice", "num_threads", "terminal", "status"]
    out: list[Proc] = []
    for p in psutil.process_iter(attrs):
        info = p.info
        try:
            pgid = os.getpgid(info["pid"])
        except OSError:
            continue
        cmd = info.get("cmdline") or []
        args = " ".join(cmd) if cmd else f"[{info.get('name') or ''}]"
        mem = info.get("memory_info")
        cpu = info.get("cpu_times")
        ttime = (cpu.user + cpu.system) if cpu else 0.0
        start = info.get("create_time") or now
        uids = info.get("uids")
        uid = uids.real if uids else -1
        tty = info.get("terminal") or "?"
        if tty.startswith("/dev/"):
            tty = tty[5:]
        elapsed = max(now - start, 1e-9)
        rss = (mem.rss // 1024) if mem else 0
        out.append(Proc(
            pid=info["pid"], ppid=info.get("ppid") or 0, pgid=pgid,
            user=info.get("username") or str(uid), uid=uid, args=args,
            vsize=(mem.vms // 1024) if mem else 0, rsize=rss, ttime=ttime, stime=start,
            priority=info.get("nice") or 0, threads=info.get("num_threads") or 1,
            tty=tty, status=str(info.get("status") or ""),
            pcpu=min(999.9, 100.0 * ttime / elapsed), pmem=100.0 * rss * 1024 / total_mem,
        ))
    return out


def _clock(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{d}-{h:02d}:{m:02d}:{s:02d}" if d else f"{h:02d}:{m:02d}:{s:02d}"


def _etime(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}-{h:02d}:{m:02d}:{s:02d}"
    if h:
        return f"{h:02d}:{m:02d}:{s:02d}"
    return f"{m:02d}:{s:02d}"


def _stime(start: float, now: float) -> str:
    t = time.localtime(start)
    if now - start < 86400 and time.localtime(now).tm_yday == t.tm_yday:
        return time.strftime("%H:%M", t)
    return time.strftime("%b%d", t)


def ps_line(p: Proc, now: float | None = None) -> str:
    """A row as ``ps -eo user:30,pid,ppid,pgid,pcpu,pmem,vsz,ni,rss:9,tname,nlwp,
    stime,etime,time,args`` prints it."""
    now = time.time() if now is None else now
    return (f"{p.user:<30} {p.pid:>5} {p.ppid:>5} {p.pgid:>5} {p.pcpu:>4.1f} {p.pmem:>4.1f} "
            f"{p.vsize:>6} {p.priority:>3} {p.rsize:>9} {p.tty:<8} {p.threads:>4} "
            f"{_stime(p.stime, now):>5} {_etime(now - p.stime):>11} {_clock(p.ttime):>8} "
            f"{p.args}")
