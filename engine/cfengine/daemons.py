"""CFEngine's daemons of one workdir: found by pidfile, else in the process table.

cf-execd, cf-serverd, cf-monitord (and cf-hub) write ``<workdir>/cf-<name>.pid``. A
pidfile can be missing (a daemon started with ``-F``) or stale (a crash), so the process
table is searched as well: a process whose executable is ``cf-<name>`` and whose workdir
is ours (``CFENGINE_TEST_OVERRIDE_WORKDIR`` in its environment, or the installed
workdir when that is not set).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.cfengine import OVERRIDE_ENV, is_default, tool

DAEMONS = ("execd", "serverd", "monitord")
OPTIONAL = ("hub",)  # shown only where installed or running


@dataclass(frozen=True, slots=True)
class Found:
    """One daemon: ``state`` is running, stopped or stale (a pidfile naming no such daemon)."""

    name: str
    program: str
    state: str
    pid: int | None
    found_by: str  # "pidfile", "process table" or ""
    pidfile_pid: int | None = None


def pidfile(root: Path, name: str) -> Path:
    return root / f"cf-{name}.pid"


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    try:
        pid = int(text.split()[0]) if text else 0
    except ValueError:
        return None
    return pid if pid > 0 else None


def _program(pid: int) -> str:
    """The executable's base name (``cf-serverd``), or "" when it cannot be read."""
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).removesuffix(" (deleted)")
    except OSError:
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            return ""
        return os.path.basename(raw.decode("utf-8", "replace"))


def _workdir_of(pid: int) -> Path | None:
    """The workdir a CFEngine process works on; None when its environment is unreadable."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for item in env.split(b"\0"):
        if item.startswith(OVERRIDE_ENV.encode() + b"="):
            return Path(item.split(b"=", 1)[1].decode("utf-8", "replace"))
    return Path("/var/lib/cfengine3")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def is_ours(pid: int, program: str, root: Path) -> bool:
    """``pid`` is ``program`` working on ``root`` (and not a zombie)."""
    if _program(pid) != program:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    if state in ("Z", "X"):
        return False
    wd = _workdir_of(pid)
    return wd is not None and _same(wd, root)


def _scan(programs: set[str], root: Path) -> dict[str, int]:
    """Program -> lowest pid of each wanted program working on ``root``."""
    out: dict[str, int] = {}
    try:
        entries = sorted(int(e) for e in os.listdir("/proc") if e.isdigit())
    except OSError:
        return out
    for pid in entries:
        prog = _program(pid)
        if prog in programs and prog not in out and is_ours(pid, prog, root):
            out[prog] = pid
    return out


def installed(name: str, root: Path) -> bool:
    return tool(root, f"cf-{name}") is not None


def find(root: Path) -> list[Found]:
    """execd, serverd, monitord always; hub where it is installed, running or has a pidfile."""
    names = list(DAEMONS) + [n for n in OPTIONAL if installed(n, root) or pidfile(root, n).exists()]
    by_pidfile: dict[str, int | None] = {n: read_pid(pidfile(root, n)) for n in names}
    out: dict[str, Found] = {}
    missing: set[str] = set()
    for n in names:
        prog = f"cf-{n}"
        pid = by_pidfile[n]
        if pid is not None and is_ours(pid, prog, root):
            out[n] = Found(n, prog, "running", pid, "pidfile", pid)
        else:
            missing.add(prog)
    scanned = _scan(missing, root) if missing else {}
    result = []
    for n in names:
        if n in out:
            result.append(out[n])
            continue
        prog = f"cf-{n}"
        pid = scanned.get(prog)
        file_pid = by_pidfile[n]
        if pid is not None:
            result.append(Found(n, prog, "running", pid, "process table", file_pid))
        elif file_pid is not None:
            result.append(Found(n, prog, "stale", None, "pidfile", file_pid))
        else:
            result.append(Found(n, prog, "stopped", None, ""))
    return [f for f in result if f.name in DAEMONS or f.state != "stopped" or installed(f.name, root)]


def systemd_unit(name: str) -> str | None:
    """``cf-<name>`` when systemd manages it on this host."""
    if not shutil.which("systemctl"):
        return None
    for d in ("/lib/systemd/system", "/usr/lib/systemd/system", "/etc/systemd/system"):
        if Path(d, f"cf-{name}.service").exists():
            return f"cf-{name}"
    return None


def start_command(root: Path, name: str) -> list[str] | None:
    """How CFEngine's own tooling starts ``cf-<name>`` for ``root``: its service on the
    installed workdir, else the workdir's own binary (which daemonizes itself)."""
    unit = systemd_unit(name) if is_default(root) else None
    if unit:
        return ["systemctl", "start", unit]
    binary = tool(root, f"cf-{name}")
    return [binary] if binary else None


def start_words(root: Path, name: str) -> str:
    """The start command as an admin would type it."""
    unit = systemd_unit(name) if is_default(root) else None
    if unit:
        return f"systemctl start {unit}"
    if is_default(root):
        return f"{root}/bin/cf-{name}"
    return f"{OVERRIDE_ENV}={root} {root}/bin/cf-{name}"


def stop_command(root: Path, name: str, pid: int | None) -> list[str] | None:
    """``systemctl stop`` on the installed workdir, else SIGTERM to the daemon's pid."""
    unit = systemd_unit(name) if is_default(root) else None
    if unit:
        return ["systemctl", "stop", unit]
    if pid is None:
        return None
    return ["kill", "-TERM", str(pid)]
