"""The one job runner: every action of the console that writes goes through here.

Each job is a command an admin could type (``vigil up``, ``vigil locks clear``,
``vigil key --accept``; for a CFEngine workdir CFEngine's own tools), run as a
subprocess, so the console never writes state files itself and does exactly what the
CLI does. :meth:`JobRunner.run` runs a job to its end; :meth:`JobRunner.forced_run`
streams a forced agent run line by line. Both block: call them from a thread worker.
A forced run on a CFEngine workdir runs under ``engine.cfengine.record``, which keeps
its output and exit code so Runs lists it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.workdir import Workdir

ACTION_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Job:
    """A command line, what it is called in a toast, and its environment."""

    argv: list[str]
    what: str
    env: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """One finished job: what to say in the toast, and whether it worked."""

    ok: bool
    message: str
    output: str = ""


@dataclass
class ForcedRunState:
    """The forced run in progress (at most one), and the lines it printed so far."""

    shown: str
    lines: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    returncode: int | None = None
    seconds: float | None = None
    error: str | None = None
    done: bool = False


def engine_command(*args: str) -> list[str]:
    """``python -m engine ARGS``, with the interpreter running the console."""
    return [sys.executable, "-m", "engine", *args]


def _wd_args(wd: Workdir) -> list[str]:
    return ["--cfengine", str(wd.root)] if wd.cfengine else ["-w", str(wd.root)]


def short_fingerprint(fp: str, keep: int = 12) -> str:
    head, sep, body = fp.partition(":") if ":" in fp else fp.partition("=")
    if not body:
        return fp[:keep] + ("…" if len(fp) > keep else "")
    return f"{head}{sep}{body[:keep]}…" if len(body) > keep else fp


# -- the jobs ---------------------------------------------------------------------------


def start_daemons(wd: Workdir, names: list[str] | None = None) -> Job:
    label = "start " + (", ".join(names) if names else "daemons")
    if wd.cfengine:  # through cf-<name> or its service, as CFEngine's tooling does
        return Job(engine_command("status", "--cfengine", str(wd.root), "--start", *(names or [])),
                   label)
    return Job(engine_command("up", *(names or []), "-w", str(wd.root)), label)


def stop_daemon(wd: Workdir, name: str) -> Job:
    if wd.cfengine:
        return Job(engine_command("status", "--cfengine", str(wd.root), "--stop", name), f"stop {name}")
    return Job(engine_command("down", name, "-w", str(wd.root)), f"stop {name}")


def restart_daemon(wd: Workdir, name: str) -> Job:
    return Job(engine_command("restart", name, "-w", str(wd.root)), f"restart {name}")


def clear_lock(wd: Workdir, lock_id: str) -> Job:
    return Job(engine_command("locks", "clear", *_wd_args(wd), "--yes", "--", lock_id), "clear lock")


def accept_key(wd: Workdir, fingerprint: str) -> Job:
    return Job(engine_command("key", "--accept", fingerprint, "--yes", "-w", str(wd.root)),
               f"accept {short_fingerprint(fingerprint)}")


def reject_key(wd: Workdir, fingerprint: str) -> Job:
    return Job(engine_command("key", "--reject", fingerprint, "--yes", "-w", str(wd.root)),
               f"reject {short_fingerprint(fingerprint)}")


def remove_key(wd: Workdir, fingerprint: str) -> Job:
    """CFEngine: ``cf-key -r`` (through ``vigil key --cfengine -r``)."""
    return Job(engine_command("key", "--cfengine", str(wd.root), "-r", fingerprint, "--yes"),
               f"remove {short_fingerprint(fingerprint)}")


def trust_server(wd: Workdir, host: str, port: int, fingerprint: str) -> Job:
    """Trust the key a server presents, only if it is still ``fingerprint``; in a
    CFEngine workdir through ``cf-key -t`` (``vigil key --cfengine WD --trust-server``)."""
    return Job(engine_command("key", *_wd_args(wd), "--trust-server", f"{host}:{port}",
                              "--fingerprint", fingerprint, "--yes"),
               f"trust {short_fingerprint(fingerprint)}")


def forced_run(wd: Workdir) -> tuple[Job, str]:
    """``vigil agent -K -I``; for CFEngine ``cf-agent -K -I``, recorded for Runs."""
    if wd.cfengine:
        argv = [sys.executable, "-m", "engine.cfengine.record", str(wd.root), "--", "cf-agent", "-K", "-I"]
        return Job(argv, "forced run"), "cf-agent -K -I"
    argv = engine_command("agent", "-K", "-I", "-w", str(wd.root), "--started-by", "forced")
    return Job(argv, "forced run"), f"vigil agent -K -I -w {wd.root} --started-by forced"


# -- the runner -------------------------------------------------------------------------


class JobRunner:
    """Runs jobs; one forced run at a time (its state lives here, not on the App)."""

    def __init__(self, workdir: Workdir) -> None:
        self.workdir = workdir
        self.forced: ForcedRunState | None = None

    def run(self, job: Job) -> ActionResult:
        """Run one job to completion; its last line of output becomes the message."""
        try:
            proc = subprocess.run(job.argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=ACTION_TIMEOUT_S, env=job.env, check=False)
        except FileNotFoundError as exc:
            return ActionResult(False, f"{job.what}: {exc.strerror}: {exc.filename}")
        except subprocess.TimeoutExpired:
            return ActionResult(False, f"{job.what}: no answer after {ACTION_TIMEOUT_S:.0f} s")
        output = (proc.stdout + proc.stderr).strip()
        last = output.splitlines()[-1].strip() if output else ""
        if proc.returncode == 0:
            return ActionResult(True, f"{job.what}: done" + (f" — {last}" if last else ""), output)
        return ActionResult(False, f"{job.what} failed (exit {proc.returncode})"
                            + (f": {last}" if last else ""), output)

    def forced_running(self) -> bool:
        return self.forced is not None and not self.forced.done

    def start_forced(self) -> tuple[Job, ForcedRunState]:
        job, shown = forced_run(self.workdir)
        self.forced = ForcedRunState(shown)
        return job, self.forced

    def stream(self, job: Job, on_line: Callable[[str], object]) -> tuple[int | None, float, str | None]:
        """Run ``job``, calling ``on_line`` for each line; (exit code, seconds, error)."""
        started = time.monotonic()
        try:
            proc = subprocess.Popen(job.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, bufsize=1, env=job.env,
                                    errors="replace")
        except OSError as exc:
            return None, 0.0, f"could not start: {exc}"
        assert proc.stdout is not None
        for line in proc.stdout:
            on_line(line.rstrip("\n"))
        rc = proc.wait()
        return rc, time.monotonic() - started, None

    def finish_forced(self, rc: int | None, seconds: float, error: str | None) -> ForcedRunState | None:
        state = self.forced
        if state is not None:
            state.done, state.returncode, state.seconds, state.error = True, rc, seconds, error
        return state
