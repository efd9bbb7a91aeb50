"""One agent run started by execd: its command, its output file, its report.

The agent's stdout and stderr go straight into
``outputs/cf_<host>__<epoch>_<ctime>_0x<hex>`` (cf-execd's naming) and
``outputs/previous`` points at the newest one. The agent runs in its own
process group so that a run killed for ``agent_expireafter`` takes its
commands with it. The agent writes its JSON run report itself; when it was
killed, or died without one, execd writes or patches the report so that
``vigil runs`` shows what happened.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.daemons import procs
from engine.text import canonify
from engine.workdir import make_dirs

# Tests point execd at a stand-in agent with this variable (a shlex string whose
# words may hold {policy} {workdir} {started_by} {output_file} {classes}).
AGENT_COMMAND_ENV = "VIGIL_EXECD_AGENT_COMMAND"

# Classes cf-execd defines for the agents it starts.
EXECD_CLASSES = ("from_cfexecd", "cf_execd_initiated")


def short_host() -> str:
    return canonify(socket.gethostname().split(".")[0]) or "localhost"


def output_name(host: str, t: float, seq: int) -> str:
    """``cf_vm__1795320611_Sun_Nov_22_04_10_11_2026_0x7f952f0c`` for host ``vm``."""
    stamp = canonify(time.ctime(t))
    return f"cf_{host}__{int(t)}_{stamp}_0x{(os.getpid() << 16 | seq & 0xFFFF):x}"


def agent_argv(
    root: Path, policy: Path, started_by: str, output_file: Path, classes: Sequence[str]
) -> list[str]:
    """The agent's command line; ``-w`` last so the watchdog can match it."""
    override = os.environ.get(AGENT_COMMAND_ENV)
    cls = ",".join(dict.fromkeys([*EXECD_CLASSES, *classes]))
    if override:
        subst = {
            "policy": str(policy),
            "workdir": str(root),
            "started_by": started_by,
            "output_file": str(output_file),
            "classes": cls,
            "python": sys.executable,
        }
        return [w.format(**subst) for w in shlex.split(override)]
    return procs.vigil_argv(
        "agent",
        root,
        ["-f", str(policy), "-D", cls, "--started-by", started_by, "--output-file", str(output_file)],
    )


@dataclass
class AgentRun:
    """A running (then finished) agent process."""

    proc: subprocess.Popen[bytes]
    started: float
    started_by: str
    output_file: Path
    last_activity: float
    last_size: int = 0
    pidfd: int | None = None
    killed: bool = False
    end: float | None = None
    exit_code: int | None = None
    survivors: list[int] = field(default_factory=list)
    policy: Path | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def as_dict(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "started": self.started,
            "started_by": self.started_by,
            "output_file": str(self.output_file),
            "end": self.end,
            "exit_code": self.exit_code,
            "interrupted": self.killed,
        }

    def touch_activity(self, now: float) -> None:
        """cf-execd restarts the expiry clock whenever the agent prints something."""
        try:
            size = self.output_file.stat().st_size
        except OSError:
            return
        if size != self.last_size:
            self.last_size = size
            self.last_activity = now

    def kill(self, grace: float = 2.0) -> list[int]:
        """Terminate the agent's process group; SIGKILL after ``grace`` s. Returns survivors.

        Only the group is signalled: a daemon the agent started (``vigil up`` from
        the keep-alive policy) has its own session and is left alone.
        """
        self.killed = True
        procs.kill_group(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        procs.kill_group(self.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 2.0
        while (left := procs.group_members(self.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.survivors = left
        return left

    def close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def start(
    root: Path, policy: Path, started_by: str, classes: Sequence[str], seq: int
) -> AgentRun:
    """Start the agent with its output captured into a new outputs/ file."""
    outputs = root / "outputs"
    make_dirs(outputs, 0o700)
    now = time.time()
    out = outputs / output_name(short_host(), now, seq)
    argv = agent_argv(root, policy, started_by, out, classes)
    fh = os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=root,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        fh.close()
    _link_previous(outputs, out)
    run = AgentRun(proc, now, started_by, out, last_activity=now, policy=policy)
    try:
        run.pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        run.pidfd = None
    return run


def _link_previous(outputs: Path, target: Path) -> None:
    tmp = outputs / f".previous.{os.getpid()}"
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    os.symlink(target, tmp)
    os.replace(tmp, outputs / "previous")


def finish_report(root: Path, run: AgentRun) -> Path:
    """Make sure a run report exists for ``run`` and says how it ended.

    The agent names its report ``outputs/runs/<YYYYmmddTHHMMSS>-<pid>.json``; an
    existing one is patched when execd killed the run (``interrupted``, ``end``,
    ``exit_code``), a missing one is written from what execd knows.
    """
    from engine.state import runs

    runs_dir = root / "outputs" / "runs"
    end = run.end or time.time()
    found = [p for p in runs_dir.glob(f"*-{run.pid}.json") if p.stat().st_mtime >= run.started - 1]
    report: runs.RunReport | None = None
    if found:
        try:
            report = runs.load_report(max(found, key=lambda p: p.stat().st_mtime))
        except (OSError, ValueError, TypeError):
            report = None
    if report is not None:
        if not run.killed:
            return runs_dir / f"{report.id}.json"
        report = replace(report, end=end, exit_code=run.exit_code or -9, interrupted=True)
    else:
        report = runs.RunReport(
            id=runs.report_name(run.started, run.pid),
            start=run.started,
            end=end,
            pid=run.pid,
            policy_file=str(run.policy or ""),
            policy_hash="",
            started_by=run.started_by,
            exit_code=run.exit_code if run.exit_code is not None else -9,
            interrupted=run.killed,
            output_file=str(run.output_file),
        )
    return runs.write_run_report(runs_dir, report)
