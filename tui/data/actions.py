"""What the console can change, each done by the same command an admin would type.

Every action runs ``python -m engine <subcommand> ... --yes`` (or, for a CFEngine
workdir, CFEngine's own tool) as a subprocess, so the console never writes state files
itself and behaves exactly like the CLI. These functions block; call them from a
thread worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.workdir import Workdir

CFENGINE_DEFAULT = Path("/var/lib/cfengine3")
ACTION_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class ActionResult:
    """One finished action: what to say in the toast, and whether it worked."""

    ok: bool
    message: str
    output: str = ""


def engine_command(*args: str) -> list[str]:
    """``python -m engine ARGS``, with the interpreter running the console."""
    return [sys.executable, "-m", "engine", *args]


def _wd_args(wd: Workdir) -> list[str]:
    return ["--cfengine", str(wd.root)] if wd.cfengine else ["-w", str(wd.root)]


def run_command(argv: list[str], what: str, env: dict[str, str] | None = None) -> ActionResult:
    """Run one command to completion; its last line of output becomes the message."""
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=ACTION_TIMEOUT_S,
            env=env,
        )
    except FileNotFoundError as exc:
        return ActionResult(False, f"{what}: {exc.strerror}: {exc.filename}")
    except subprocess.TimeoutExpired:
        return ActionResult(False, f"{what}: no answer after {ACTION_TIMEOUT_S:.0f} s")
    output = (proc.stdout + proc.stderr).strip()
    last = output.splitlines()[-1].strip() if output else ""
    if proc.returncode == 0:
        return ActionResult(True, f"{what}: done" + (f" — {last}" if last else ""), output)
    return ActionResult(False, f"{what} failed (exit {proc.returncode})" + (f": {last}" if last else ""), output)


def start_daemons(wd: Workdir, names: list[str] | None = None) -> ActionResult:
    label = "start " + (", ".join(names) if names else "daemons")
    return run_command(engine_command("up", *(names or []), "-w", str(wd.root)), label)


def stop_daemon(wd: Workdir, name: str) -> ActionResult:
    return run_command(engine_command("down", name, "-w", str(wd.root)), f"stop {name}")


def restart_daemon(wd: Workdir, name: str) -> ActionResult:
    return run_command(engine_command("restart", name, "-w", str(wd.root)), f"restart {name}")


def clear_lock(wd: Workdir, lock_id: str) -> ActionResult:
    return run_command(
        engine_command("locks", "clear", *_wd_args(wd), "--yes", "--", lock_id), "clear lock"
    )


def accept_key(wd: Workdir, fingerprint: str) -> ActionResult:
    return run_command(
        engine_command("key", "--accept", fingerprint, "--yes", "-w", str(wd.root)),
        f"accept {short_fingerprint(fingerprint)}",
    )


def reject_key(wd: Workdir, fingerprint: str) -> ActionResult:
    return run_command(
        engine_command("key", "--reject", fingerprint, "--yes", "-w", str(wd.root)),
        f"reject {short_fingerprint(fingerprint)}",
    )


def short_fingerprint(fp: str, keep: int = 12) -> str:
    head, _, body = fp.partition(":")
    if not body:
        return fp[:keep] + ("…" if len(fp) > keep else "")
    return f"{head}:{body[:keep]}…" if len(body) > keep else fp


@dataclass(frozen=True, slots=True)
class ForcedRun:
    """The command line of a forced run and the environment it needs."""

    argv: list[str]
    env: dict[str, str] | None
    shown: str  # the command as the log pane shows it


def forced_run_command(wd: Workdir) -> ForcedRun:
    """``vigil agent -K -I`` for vigil; ``cf-agent -KI`` for a CFEngine workdir.

    A CFEngine workdir other than the installed one is selected the way CFEngine's own
    test suite does it, through ``CFENGINE_TEST_OVERRIDE_WORKDIR``.
    """
    if wd.cfengine:
        agent = shutil.which("cf-agent") or "/usr/bin/cf-agent"
        env = None
        if wd.root.resolve() != CFENGINE_DEFAULT:
            env = dict(os.environ, CFENGINE_TEST_OVERRIDE_WORKDIR=str(wd.root))
        return ForcedRun([agent, "-K", "-I"], env, "cf-agent -K -I")
    argv = engine_command("agent", "-K", "-I", "-w", str(wd.root), "--started-by", "forced")
    return ForcedRun(argv, None, f"vigil agent -K -I -w {wd.root} --started-by forced")
