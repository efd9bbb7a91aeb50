"""execd: runs the agent on its schedule (cf-execd).

One thread does the work: a selector loop over the wake-up pipe (signals and
policy changes), the control socket, and a pidfd of the running agent. A
second thread only watches ``inputs/`` and pokes the pipe.

- Every ``tick`` (60 s; ``execd.tick_seconds``) the schedule's class
  expressions are evaluated against the time classes of that instant; a match
  queues a run ``splay`` seconds later. At most one agent runs at a time: a
  scheduled run that finds one still running is skipped and counted.
- A changed policy is validated first (in a child process); only a valid one
  is copied to ``state/last_valid_inputs/``, which is what the agent runs, so
  an invalid edit never runs and the last valid policy stays in force.
- As with cf-execd's ``agent_expireafter``, an agent that has printed nothing
  for that many minutes is killed with its process group and its run report
  marked ``interrupted``.
- Status goes to ``state/execd_status.json`` (atomic writes) for
  ``vigil status`` and the console.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.atomicwrite import write_atomic
from engine.daemons.config import DaemonSettings
from engine.daemons.execd import agentrun, control, policycheck
from engine.daemons.execd.schedule import (
    DEFAULT_SCHEDULE,
    Schedule,
    next_run,
    splay_seconds,
    tick_start,
)
from engine.daemons.lifecycle import Lifecycle
from engine.daemons.pidfile import is_locked
from engine.log import LineLogger
from engine.workdir import make_dirs

STATUS_FILE = "execd_status.json"
LAST_VALID = "last_valid_inputs"
MAX_QUEUE = 4
# Tests need expiry in seconds; settings and policy speak whole minutes.
EXPIRE_ENV = "VIGIL_EXECD_EXPIREAFTER_SECONDS"


def status_path(root: Path) -> Path:
    return root / "state" / STATUS_FILE


def last_valid_dir(root: Path) -> Path:
    return root / "state" / LAST_VALID


def read_status(root: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(status_path(root).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class Request:
    started_by: str
    classes: tuple[str, ...]
    due: float


class Execd:
    def __init__(self, root: Path, settings: DaemonSettings, log: LineLogger) -> None:
        self.root = root
        self.settings = settings
        self.log = log
        self.host = agentrun.short_host()
        self.tick = max(float(settings.tick_seconds), 0.05)
        self.schedule = self._schedule_from({})
        self.splay = splay_seconds(self.host, self.schedule.splaytime_minutes)
        self.policy_ok: bool | None = None
        self.policy_error: str | None = None
        self.policy_checked_at: float | None = None
        self.last_valid_at = self._last_valid_mtime()
        self.current: agentrun.AgentRun | None = None
        self.queue: list[Request] = []
        self.last_run: dict[str, Any] | None = None
        self.next_run_at: float | None = None
        self.overlaps = 0
        self.last_overlap_at: float | None = None
        self.killed_runs = 0
        self.last_killed_at: float | None = None
        self.runs_started = 0
        self.stopping = False
        self.serving = False
        self.policy_dirty = True
        self.started_at = time.time()
        self._seq = 0
        self.publish = True  # write execd_status.json (not when --once runs beside a daemon)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    # -- policy ---------------------------------------------------------------

    def _schedule_from(self, executor: dict[str, Any]) -> Schedule:
        s = self.settings
        sched = executor.get("schedule")
        exprs = tuple(sched) if isinstance(sched, list) and sched else DEFAULT_SCHEDULE
        expire = _num(executor.get("agent_expireafter"), s.agent_expireafter_minutes)
        override = os.environ.get(EXPIRE_ENV)
        if override:
            expire = _num(override, expire * 60) / 60
        return Schedule(
            expressions=exprs,
            splaytime_minutes=_num(executor.get("splaytime"), s.splaytime_minutes),
            agent_expireafter_minutes=expire,
        )

    def _last_valid_mtime(self) -> float | None:
        try:
            return (last_valid_dir(self.root) / ".validated").stat().st_mtime
        except OSError:
            return None

    def valid_entry(self) -> Path | None:
        entry = last_valid_dir(self.root) / "promises.cf"
        return entry if entry.is_file() else None

    def check_policy(self) -> None:
        entry = self.root / "inputs" / "promises.cf"
        r = policycheck.check(entry, self.root)
        self.policy_checked_at = time.time()
        if r.ok:
            self._keep_copy()
            self.policy_ok, self.policy_error = True, None
            self.last_valid_at = self.policy_checked_at
            self.schedule = self._schedule_from(r.executor)
            self.splay = splay_seconds(self.host, self.schedule.splaytime_minutes)
            self.log.info(f"Policy '{entry}' validated; schedule {', '.join(self.schedule.expressions)}")
        else:
            self.policy_ok, self.policy_error = False, r.error
            keep = "keeping the last valid policy" if self.valid_entry() else "no valid policy to run"
            self.log.error(f"Policy is invalid, {keep}: {r.error}")
        self.write_status()

    def _keep_copy(self) -> None:
        """Replace state/last_valid_inputs with a copy of inputs/ (swap by rename)."""
        dest = last_valid_dir(self.root)
        tmp = dest.with_name(f".{LAST_VALID}.{os.getpid()}.new")
        old = dest.with_name(f".{LAST_VALID}.{os.getpid()}.old")
        for p in (tmp, old):
            shutil.rmtree(p, ignore_errors=True)
        shutil.copytree(self.root / "inputs", tmp, symlinks=True)
        (tmp / ".validated").write_text(f"{time.time():.0f}\n")
        if dest.exists():
            os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)

    # -- runs -----------------------------------------------------------------

    def enqueue(self, req: Request) -> bool:
        if req.started_by == "schedule" and (
            self.current is not None or any(r.started_by == "schedule" for r in self.queue)
        ):
            self.overlaps += 1
            self.last_overlap_at = time.time()
            holder = f"pid {self.current.pid}" if self.current else "a queued run"
            self.log.warning(f"Skipping scheduled agent run: {holder} has not finished")
            return False
        if any(r.started_by == req.started_by and r.classes == req.classes for r in self.queue):
            return True
        if len(self.queue) >= MAX_QUEUE:
            return False
        self.queue.append(req)
        self.queue.sort(key=lambda r: r.due)
        return True

    def start_due(self, now: float) -> None:
        if self.current is not None or not self.queue or self.queue[0].due > now:
            return
        req = self.queue.pop(0)
        entry = self.valid_entry()
        if entry is None:
            self.log.error("Not running the agent: there is no valid policy yet")
            self.write_status()
            return
        self._seq += 1
        self.current = agentrun.start(self.root, entry, req.started_by, req.classes, self._seq)
        self.runs_started += 1
        self.log.info(
            f"Started agent pid {self.current.pid} ({req.started_by}), "
            f"output {self.current.output_file.name}"
        )
        self.write_status()

    def expiry_deadline(self) -> float | None:
        if self.current is None or self.schedule.agent_expireafter_minutes <= 0:
            return None
        return self.current.last_activity + self.schedule.agent_expireafter_minutes * 60

    def check_expiry(self, now: float) -> None:
        deadline = self.expiry_deadline()
        if self.current is None or deadline is None or now < deadline:
            return
        self.current.touch_activity(now)
        deadline = self.expiry_deadline()
        if deadline is not None and now >= deadline:
            run = self.current
            self.log.error(
                f"Agent pid {run.pid} printed nothing for "
                f"{self.schedule.agent_expireafter_minutes:g} minutes (agent_expireafter); killing it"
            )
            survivors = run.kill()
            if survivors:
                self.log.error(f"Processes left after killing the agent: {survivors}")
            self.killed_runs += 1
            self.last_killed_at = now
            self.reap()

    def reap(self) -> None:
        run = self.current
        if run is None:
            return
        if run.proc.poll() is None and not run.killed:
            return
        run.exit_code = run.proc.returncode
        run.end = time.time()
        try:
            agentrun.finish_report(self.root, run)
        except OSError as e:
            self.log.error(f"Could not write the run report of pid {run.pid}: {e}")
        self.last_run = run.as_dict()
        how = "was killed" if run.killed else f"exited with code {run.exit_code}"
        self.log.info(f"Agent pid {run.pid} {how} after {run.end - run.started:.1f} s")
        run.close()
        self.current = None
        self.write_status()

    # -- status ---------------------------------------------------------------

    def refresh_next(self, now: float) -> None:
        queued = [r.due for r in self.queue]
        nxt = next_run(self.schedule, now, self.tick, self.splay)
        cands = [t for t in (*queued, nxt) if t is not None]
        self.next_run_at = min(cands) if cands else None

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid() if self.serving else None,
            "running": self.serving,
            "started_at": self.started_at,
            "updated_at": time.time(),
            "host": self.host,
            "policy_ok": self.policy_ok,
            "policy_error": self.policy_error,
            "policy_checked_at": self.policy_checked_at,
            "last_valid_at": self.last_valid_at,
            "next_run_at": self.next_run_at,
            "splay": self.splay,
            "schedule": list(self.schedule.expressions),
            "tick_seconds": self.tick,
            "agent_expireafter_minutes": self.schedule.agent_expireafter_minutes,
            "current_run": self.current.as_dict() if self.current else None,
            "last_run": self.last_run,
            "queued": len(self.queue),
            "runs_started": self.runs_started,
            "overlaps_skipped": self.overlaps,
            "last_overlap_at": self.last_overlap_at,
            "killed_runs": self.killed_runs,
            "last_killed_at": self.last_killed_at,
        }

    def write_status(self) -> None:
        if not self.publish:
            return
        try:
            path = status_path(self.root)
            make_dirs(path.parent, 0o755)
            write_atomic(path, (json.dumps(self.status(), indent=1) + "\n").encode(), 0o600)
        except OSError as e:
            self.log.error(f"Could not write {status_path(self.root)}: {e}")

    # -- control socket -------------------------------------------------------

    def handle_request(self, msg: dict[str, Any]) -> dict[str, Any]:
        op = msg.get("op")
        if op == "run":
            classes = tuple(str(c) for c in msg.get("classes") or ())
            by = str(msg.get("started_by") or "forced")
            if by not in ("forced", "remote", "manual"):
                by = "forced"
            ok = self.enqueue(Request(by, classes, time.time()))
            if ok:
                self.log.info(f"Agent run requested ({by})")
            return {"ok": ok, "running": self.current.pid if self.current else None}
        if op == "status":
            return {"ok": True, "status": self.status()}
        return {"ok": False, "error": f"unknown request {op!r}"}

    # -- the loop -------------------------------------------------------------

    def poke(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"!")

    def _on_policy_change(self, _paths: set[str]) -> None:
        self.policy_dirty = True
        self.poke()

    def _stop(self) -> None:
        self.stopping = True

    def _reload(self) -> None:
        self.policy_dirty = True

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT (SIGHUP: check the policy again); the exit code."""
        from engine.daemons.execd.watch import PolicyWatcher

        life = Lifecycle(self.root, "execd", self.log)
        if not life.claim():
            return 1
        try:
            server = control.ControlServer(self.root)
            watcher = PolicyWatcher(self.root / "inputs", self._on_policy_change)
            sel = selectors.DefaultSelector()
            life.on_signals(self._stop, self._reload, wake_fd=self._wake_w)
            try:
                self.serving = True
                watcher.start()
                sel.register(self._wake_r, selectors.EVENT_READ, "wake")
                sel.register(server.sock, selectors.EVENT_READ, "accept")
                self.log.info(f"execd started (pid {os.getpid()}), splay {self.splay} s")
                self.refresh_next(time.time())
                self.write_status()
                self._loop(sel, server, life)
            finally:
                self._shutdown()
                self.serving = False
                watcher.stop()
                server.close()
                sel.close()
                self.write_status()
        finally:
            life.close()
        return 0

    def _loop(self, sel: selectors.BaseSelector, server: control.ControlServer,
              life: Lifecycle) -> None:
        next_tick = tick_start(time.time(), self.tick) + self.tick
        while not self.stopping:
            now = time.time()
            if self.policy_dirty:
                self.policy_dirty = False
                self.check_policy()
                self.refresh_next(now)
            if now >= next_tick:
                t = tick_start(now, self.tick)
                next_tick = t + self.tick
                if self.schedule.matches(t):
                    self.enqueue(Request("schedule", (), t + self.splay))
                self.refresh_next(now)
                self.write_status()
                life.rotate_log()
            if self.current is not None and self.current.proc.poll() is not None:
                self.reap()
            self.start_due(now)
            self.check_expiry(now)
            waits = [next_tick - now, 30.0]
            if self.queue and self.current is None:
                waits.append(self.queue[0].due - now)
            deadline = self.expiry_deadline()
            if deadline is not None:
                waits.append(deadline - now)
            if self.current is not None and self.current.pidfd is None:
                waits.append(0.2)
            self._dispatch(sel, server, max(min(waits), 0.0))

    def _dispatch(
        self, sel: selectors.BaseSelector, server: control.ControlServer, timeout: float
    ) -> None:
        pidfd = self.current.pidfd if self.current else None
        if pidfd is not None:
            sel.register(pidfd, selectors.EVENT_READ, "agent")
        try:
            events = sel.select(timeout)
        finally:
            if pidfd is not None:
                sel.unregister(pidfd)
        for key, _ in events:
            what = key.data
            if what == "wake":
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake_r, 512):
                        pass
            elif what == "accept":
                conn = server.accept()
                if conn is not None:
                    sel.register(conn, selectors.EVENT_READ, "client")
            elif what == "client":
                client = key.fileobj
                if not isinstance(client, socket.socket):  # registered as one on accept
                    continue
                msg = server.read(client)
                if msg is None:
                    continue
                if msg is not False:
                    server.reply(client, self.handle_request(msg))
                    self.start_due(time.time())
                sel.unregister(client)
                server.drop(client)
            elif what == "agent":
                self.reap()

    def _shutdown(self) -> None:
        """Let a running agent finish for ``grace_seconds``, then kill it."""
        self.stopping = True
        run = self.current
        if run is None:
            return
        grace = self.settings.grace_seconds
        self.log.info(f"Stopping: waiting up to {grace:g} s for agent pid {run.pid}")
        deadline = time.monotonic() + grace
        while run.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if run.proc.poll() is None:
            self.log.error(f"Agent pid {run.pid} still running after {grace:g} s; killing it")
            survivors = run.kill()
            if survivors:
                self.log.error(f"Processes left behind: {survivors}")
            self.killed_runs += 1
            self.last_killed_at = time.time()
        self.reap()

    # -- --once ---------------------------------------------------------------

    def once(self) -> int:
        """Validate, run the agent once now, wait for it; the agent's exit code."""
        self.publish = not is_locked(self.root, "execd")
        self.check_policy()
        if self.valid_entry() is None:
            return 1
        self.enqueue(Request("schedule", (), time.time()))
        self.start_due(time.time())
        run = self.current
        if run is None:
            return 1
        while run.proc.poll() is None:
            now = time.time()
            self.check_expiry(now)
            if self.current is None:
                break
            time.sleep(0.05)
        self.reap()
        return 0 if run.exit_code == 0 else (run.exit_code or 1)


def _num(v: Any, default: float) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float(default)
