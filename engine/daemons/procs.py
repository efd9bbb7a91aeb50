"""Finding, measuring and stopping our own processes.

Every vigil process started by the supervisor, execd or the watchdog has the
argv ``<python> -m engine <command> [options] -w <workdir>`` with ``-w`` last,
so one anchored regex (``engine <command> .*-w <workdir>$``) finds the daemons
of one workdir and never those of another. Only processes whose command line
matches are ever signalled.

psutil is imported inside the functions that need it: execd's steady memory
must not pay for it (about 3 MB) when it only builds command lines.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil


def vigil_argv(command: str, root: Path, extra: Sequence[str] = ()) -> list[str]:
    """The canonical argv of a vigil process working on ``root``."""
    return [sys.executable, "-m", "engine", command, *extra, "-w", str(root)]


def daemon_argv(daemon: str, root: Path, extra: Sequence[str] = ()) -> list[str]:
    """A daemon in the foreground (``-F``); detaching is the spawner's job."""
    return vigil_argv(daemon, root, ["-F", *extra])


def cmdline_matches(cmdline: Sequence[str], command: str, root: Path) -> bool:
    """True for ``... -m engine <command> ... -w <root>`` (``root`` compared resolved)."""
    try:
        i = cmdline.index("engine")
    except ValueError:
        return False
    if i + 1 >= len(cmdline) or cmdline[i + 1] != command or i < 1 or cmdline[i - 1] != "-m":
        return False
    args = list(cmdline[i + 2 :])
    for j in range(len(args) - 1, -1, -1):
        if args[j] in ("-w", "--workdir") and j + 1 < len(args):
            return _same_path(args[j + 1], root)
    return False


def _same_path(a: str, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _stat(pid: int) -> list[bytes] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], pgid [2])."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except (OSError, ValueError):
        return None
    return data.rsplit(b")", 1)[1].split()


def alive(pid: int) -> bool:
    """A live, non-zombie process."""
    if pid <= 0:
        return False
    st = _stat(pid)
    return st is not None and st[0] not in (b"Z", b"X")


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid``."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None and st[0] not in (b"Z", b"X") and int(st[2]) == pgid:
                out.append(int(name))
    return out


def is_our_daemon(pid: int, command: str, root: Path) -> bool:
    import psutil

    try:
        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return False
        return cmdline_matches(p.cmdline(), command, root)
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def find(command: str, root: Path, foreground: bool = True) -> list[psutil.Process]:
    """Every live process running ``vigil <command> ... -w root``, oldest first.

    With ``foreground`` only daemons proper (``-F``) count, not a ``vigil
    <daemon>`` command that is busy starting one. This process never counts.
    """
    import psutil

    found: list[psutil.Process] = []
    me = os.getpid()
    for p in psutil.process_iter(["cmdline", "status", "create_time"]):
        info = p.info
        if p.pid == me or info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        cmd = info.get("cmdline") or []
        if "engine" not in cmd or not cmdline_matches(cmd, command, root):
            continue
        if foreground and "-F" not in cmd and "--no-fork" not in cmd:
            continue
        found.append(p)
    found.sort(key=lambda p: (p.info.get("create_time") or 0.0, p.pid))
    return found


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (empty when it is gone)."""
    import psutil

    try:
        p = psutil.Process(pid)
        return [p, *p.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


@dataclass(frozen=True, slots=True)
class TreeUsage:
    rss_bytes: int
    cpu_percent: float
    children: int
    uptime_s: float


def tree_usage(pids: Iterable[int], interval: float = 0.2) -> dict[int, TreeUsage]:
    """RSS and CPU% of each process tree, CPU measured over one shared ``interval``."""
    import psutil

    trees = {pid: tree(pid) for pid in pids}
    for procs_ in trees.values():
        for p in procs_:
            try:
                p.cpu_percent(None)
            except psutil.Error:
                pass
    if interval > 0 and any(trees.values()):
        time.sleep(interval)
    now = time.time()
    out: dict[int, TreeUsage] = {}
    for pid, procs_ in trees.items():
        rss = 0
        cpu = 0.0
        live = 0
        for p in procs_:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    cpu += p.cpu_percent(None)
                live += 1
            except psutil.Error:
                continue
        try:
            up = now - psutil.Process(pid).create_time()
        except psutil.Error:
            up = 0.0
        out[pid] = TreeUsage(rss, cpu, max(live - 1, 0), up)
    return out


def signal_pids(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait until every pid has exited (or is a zombie); return those still alive."""
    left = list(pids)
    deadline = time.monotonic() + timeout
    while left:
        left = [p for p in left if alive(p)]
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return left


def stop_tree(pid: int, timeout: float, sig: int = signal.SIGTERM) -> list[int]:
    """Send ``sig`` to ``pid``, wait ``timeout`` s, then SIGKILL what is left of its tree.

    The tree is taken before signalling, so children that the process leaves
    behind are found too. Returns the pids still alive after SIGKILL (normally none).
    """
    members = [p.pid for p in tree(pid)]
    if not members:
        return []
    signal_pids([pid], sig)
    left = wait_gone([pid], timeout)
    # Descendants that outlived their parent, or the parent itself, are killed.
    rest = [p for p in members if alive(p)]
    if left or rest:
        signal_pids(rest, signal.SIGKILL)
        rest = wait_gone(rest, 2.0)
    return rest


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
