"""The life of a daemon process, one for execd, monitord and serverd.

Started in the foreground (``vigil <daemon> -F``: the supervisor starts it so,
detached, with stdout and stderr on ``logs/<daemon>.log``), each daemon goes
through the same steps, here:

- **log**: :func:`daemon_logger` writes each line to stdout and flushes it, so
  the log file is current when the supervisor or an admin reads it;
  :meth:`Lifecycle.rotate_log` rotates that file by size while the daemon runs
  (only when stdout is that file: not under ``-F`` in a terminal);
- **single instance**: :meth:`Lifecycle.claim` takes the daemon's lifetime lock
  (:mod:`engine.daemons.pidfile`) and writes its pidfile, now or, for a daemon
  that is ready only once it listens, at :meth:`Lifecycle.publish`; a second copy
  for the workdir logs why and gives up (exit code 1);
- **signals**: :meth:`Lifecycle.on_signals` makes SIGTERM and SIGINT ask the
  daemon to stop and SIGHUP to read its policy again, whether it runs a selector
  loop (woken through ``wake_fd``), a sleeping loop or an asyncio loop;
- **exit**: :meth:`Lifecycle.close` removes the pidfile, releases the lock and
  gives the signals back.

Starting one detached and stopping it are the supervisor's
(:mod:`engine.daemons.supervise.supervisor`, :mod:`engine.daemons.detach`).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from engine.daemons import detach
from engine.daemons.pidfile import AlreadyRunning, DaemonLock
from engine.log import Level, LineLogger

if TYPE_CHECKING:
    import asyncio  # serverd's loop; execd and monitord never load asyncio

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
RELOAD_SIGNAL = signal.SIGHUP


def daemon_logger(level: Level = Level.INFO, timestamps: bool = True) -> LineLogger:
    """A daemon's logger: one line at a time on stdout, flushed at once."""
    return LineLogger(level, timestamps=timestamps, sink=_emit)


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Lifecycle:
    """One daemon process's lock and pidfile, signals and log file (see the module doc)."""

    def __init__(self, root: Path, daemon: str, log: LineLogger) -> None:
        self.root = root
        self.daemon = daemon
        self.log = log
        self.log_file = detach.log_path(root, daemon)
        self._lock: DaemonLock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[signal.Signals, Any] = {}
        self._previous_wake: int | None = None

    # -- single instance -----------------------------------------------------------------

    def claim(self, publish: bool = True, fallback: str | None = None) -> bool:
        """Take the lock, and write the pidfile unless ``publish`` is False (then
        :meth:`publish` writes it once the daemon is ready). Another copy holding
        the lock: under the name ``fallback`` when given (serverd on a port of its
        own), else False, said in the log. So is a lock that cannot be taken."""
        try:
            try:
                self._lock = DaemonLock(self.root, self.daemon).claim(publish)
            except AlreadyRunning:
                if fallback is None:
                    raise
                self._lock = DaemonLock(self.root, fallback).claim(publish)
        except AlreadyRunning as e:
            self.log.error(str(e))
            return False
        except OSError as e:
            self.log.error(f"Cannot start: {e}")
            return False
        return True

    def publish(self) -> None:
        """Write the pidfile: the daemon is ready (the supervisor waits for this)."""
        if self._lock is not None:
            self._lock.publish()

    # -- signals -------------------------------------------------------------------------

    def on_signals(
        self,
        stop: Callable[[], None],
        reload: Callable[[], None],
        wake_fd: int | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        """SIGTERM and SIGINT call ``stop``, SIGHUP ``reload``: in ``loop`` when
        given, else as signal handlers, which also write to ``wake_fd`` (when
        given) so that a selector waiting on it wakes at once."""
        actions = {s: stop for s in STOP_SIGNALS} | {RELOAD_SIGNAL: reload}
        if loop is not None:
            self._loop = loop
            for signum, action in actions.items():
                loop.add_signal_handler(signum, action)
            return
        if wake_fd is not None:
            self._previous_wake = signal.set_wakeup_fd(wake_fd)
        for signum, action in actions.items():
            self._previous[signum] = signal.signal(signum, _handler(action))

    def _restore_signals(self) -> None:
        if self._loop is not None:
            for signum in (*STOP_SIGNALS, RELOAD_SIGNAL):
                self._loop.remove_signal_handler(signum)
            self._loop = None
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()
        if self._previous_wake is not None:
            signal.set_wakeup_fd(self._previous_wake)
            self._previous_wake = None

    # -- log -----------------------------------------------------------------------------

    def rotate_log(self) -> None:
        """Rotate ``logs/<daemon>.log`` when it has grown too big, if it is stdout."""
        if _is_stdout(self.log_file):
            detach.rotate_own_log(self.log_file)

    # -- exit ----------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the pidfile, release the lock, give the signals back."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._restore_signals()


def _handler(action: Callable[[], None]) -> Callable[[int, FrameType | None], None]:
    def handle(_signum: int, _frame: FrameType | None) -> None:
        action()

    return handle


def _is_stdout(path: Path) -> bool:
    try:
        a, b = os.fstat(1), path.stat()
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
