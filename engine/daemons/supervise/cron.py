"""The one cron line that runs ``vigil watchdog`` every few minutes.

Targets: ``crontab`` (the invoking user's crontab, through the ``crontab``
command), ``cron.d`` (``/etc/cron.d/vigil``, with a user field, for root), a
file path (crontab format; with a user field when it lies in a ``cron.d``
directory), or ``auto`` (cron.d as root when /etc/cron.d exists, else crontab).
Installing is idempotent: every older watchdog line for the same workdir is
replaced by exactly one current line.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

CRON_D = Path("/etc/cron.d/vigil")


class CronError(RuntimeError):
    pass


def watchdog_command(root: Path) -> str:
    return f"{sys.executable} -m engine watchdog -w {root}"


def cron_line(root: Path, interval_minutes: int, user: str | None = None) -> str:
    every = max(1, min(int(interval_minutes), 59))
    who = f" {user}" if user else ""
    return f"*/{every} * * * *{who} {watchdog_command(root)} >/dev/null 2>&1"


def resolve_target(target: str) -> str:
    """``auto`` -> ``cron.d`` or ``crontab``; anything else unchanged."""
    if target != "auto":
        return target
    if os.geteuid() == 0 and CRON_D.parent.is_dir():
        return "cron.d"
    return "crontab"


def merge(text: str, root: Path, line: str) -> str:
    """``text`` with every watchdog line for ``root`` replaced by ``line`` (once)."""
    marker = watchdog_command(root)
    kept = [ln for ln in text.splitlines() if not _is_ours(ln, marker)]
    kept.append(line)
    return "\n".join(kept) + "\n"


def _user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def install(root: Path, target: str = "auto", interval_minutes: int = 5) -> str:
    """Install the watchdog line; returns where it went. Raises :class:`CronError`."""
    where = resolve_target(target)
    if where == "crontab":
        return _install_crontab(root, interval_minutes)
    path = CRON_D if where == "cron.d" else Path(where)
    user = _user() if path.parent.name == "cron.d" else None
    line = cron_line(root, interval_minutes, user)
    try:
        old = path.read_text()
    except FileNotFoundError:
        old = ""
    new = merge(old, root, line)
    if new != old:
        from engine.atomicwrite import write_atomic
        from engine.workdir import make_dirs

        make_dirs(path.parent, 0o755)
        write_atomic(path, new.encode(), 0o644)
    return str(path)


def _install_crontab(root: Path, interval_minutes: int) -> str:
    exe = shutil.which("crontab")
    if exe is None:
        raise CronError("the crontab command is not installed; use --target PATH or cron.d")
    cur = subprocess.run([exe, "-l"], capture_output=True, text=True, check=False)
    old = cur.stdout if cur.returncode == 0 else ""
    new = merge(old, root, cron_line(root, interval_minutes))
    if new != old:
        put = subprocess.run([exe, "-"], input=new, capture_output=True, text=True, check=False)
        if put.returncode != 0:
            raise CronError(f"crontab failed: {put.stderr.strip()}")
    return f"crontab of {_user()}"


def installed(root: Path, target: str) -> bool:
    """True when ``target`` (a file path or cron.d) holds exactly one line for ``root``."""
    where = resolve_target(target)
    if where == "crontab":
        exe = shutil.which("crontab")
        if exe is None:
            return False
        cur = subprocess.run([exe, "-l"], capture_output=True, text=True, check=False)
        text = cur.stdout if cur.returncode == 0 else ""
    else:
        try:
            text = (CRON_D if where == "cron.d" else Path(where)).read_text()
        except OSError:
            return False
    marker = watchdog_command(root)
    return sum(1 for ln in text.splitlines() if _is_ours(ln, marker)) == 1


def _is_ours(line: str, marker: str) -> bool:
    """The watchdog line of exactly this workdir (not of ``<wd>2``)."""
    return line.rstrip().endswith(marker) or marker + " " in line
