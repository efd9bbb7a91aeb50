"""monitord: samples the system and publishes it for the agent (cf-monitord).

Every ``interval`` seconds (150 s, as cf-monitord; ``monitord.interval_seconds``)
it takes one sample of every observable, folds it into the running averages
in ``state/monitor.lmdb`` (one write transaction), and rewrites
``state/env_data``, from which the agent defines ``mon.*`` variables and the
``<x>_high``/``_low``/... classes. It imports only psutil and lmdb.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from engine.daemons import detach
from engine.daemons.observables import Sampler, write_env_data
from engine.daemons.pidfile import DaemonLock
from engine.log import LineLogger
from engine.state.monitor import DEFAULT_FORGETRATE, MonitorStore

FIRST_SAMPLE_AFTER = 2.0


def env_data_path(root: Path) -> Path:
    return root / "state" / "env_data"


class Monitord:
    def __init__(
        self, root: Path, interval: float, log: LineLogger, forgetrate: float = DEFAULT_FORGETRATE
    ) -> None:
        self.root = root
        self.interval = max(interval, 0.1)
        self.log = log
        self.forgetrate = forgetrate
        self.stopping = False
        self.samples = 0

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def _sleep(self, seconds: float) -> None:
        """Sleep in short steps so SIGTERM is acted on at once."""
        end = time.monotonic() + seconds
        while not self.stopping:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.5))

    def sample_once(self, sampler: Sampler, store: MonitorStore) -> None:
        t = time.time()
        values = sampler.sample()
        stats = store.update(t, values, self.forgetrate)
        write_env_data(env_data_path(self.root), stats, sampler.ports)
        self.samples += 1

    def serve(self) -> int:
        lock = DaemonLock(self.root, "monitord").claim()
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, self._on_signal)
        log_file = detach.log_path(self.root, "monitord")
        store = MonitorStore(self.root / "state" / "monitor.lmdb")
        try:
            self.log.info(f"monitord started (pid {os.getpid()}), sampling every {self.interval:g} s")
            sampler = Sampler()
            self._sleep(min(self.interval, FIRST_SAMPLE_AFTER))
            while not self.stopping:
                started = time.monotonic()
                try:
                    self.sample_once(sampler, store)
                except Exception as e:  # noqa: BLE001 - one bad sample must not stop the daemon
                    self.log.error(f"Sampling failed: {type(e).__name__}: {e}")
                if _stdout_is(log_file):
                    detach.rotate_own_log(log_file)
                self._sleep(self.interval - (time.monotonic() - started))
        finally:
            store.close()
            lock.release()
            self.log.info("monitord stopped")
        return 0


def _stdout_is(path: Path) -> bool:
    try:
        a, b = os.fstat(1), path.stat()
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
