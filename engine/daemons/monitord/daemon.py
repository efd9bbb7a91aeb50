"""monitord: samples the system and publishes it for the agent (cf-monitord).

Every ``interval`` seconds (150 s, as cf-monitord; ``monitord.interval_seconds``)
it takes one sample of every observable, folds it into the running averages
in ``state/monitor.lmdb`` (one write transaction), and rewrites
``state/env_data``, from which the agent defines ``mon.*`` variables and the
``<x>_high``/``_low``/... classes. It imports only psutil and lmdb.

The policy's ``measurements:`` promises (monitor bundles, see
:mod:`engine.daemons.monitord.measurements`) are taken with each sample. The policy is
evaluated in a child process (:mod:`engine.daemons.monitord.policy`) at start,
whenever one of its files changes or SIGHUP asks, and, while it has measurements,
again every :data:`REEVALUATE_AFTER` seconds so that classes and functions in the monitor
bundles follow the host. A promise monitord cannot keep is an error line in its
log; it never stops the daemon.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine.daemons.lifecycle import Lifecycle
from engine.daemons.monitord.measurements import Measurement, Measurer, Results
from engine.daemons.monitord.observables import Sampler, write_env_data
from engine.log import LineLogger
from engine.state.monitor import DEFAULT_FORGETRATE, Measured, MonitorStore

FIRST_SAMPLE_AFTER = 2.0
REEVALUATE_AFTER = 300.0  # seconds between two evaluations of an unchanged policy


def env_data_path(root: Path) -> Path:
    return root / "state" / "env_data"


class Monitord:
    def __init__(
        self, root: Path, interval: float, log: LineLogger, forgetrate: float = DEFAULT_FORGETRATE,
        policy_file: Path | None = None, once: bool = False,
    ) -> None:
        self.root = root
        self.interval = max(interval, 0.1)
        self.log = log
        self.forgetrate = forgetrate
        self.stopping = False
        self.samples = 0
        self.once = once
        self.policy_file = policy_file or root / "inputs" / "promises.cf"
        self.measurements: list[Measurement] = []
        self.policy_forgetrate: float | None = None
        self._policy_mtimes: dict[str, float] | None = None  # None: not read yet
        self._policy_read_at = 0.0
        self._measured = True  # the store may hold measurements of an earlier run
        self._reread = False  # SIGHUP: read the policy at the next sample
        self.measurer = Measurer(root / "state", log.error)

    def _stop(self) -> None:
        self.stopping = True

    def _reload(self) -> None:
        self._reread = True

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
        self.refresh_policy(t)
        values = sampler.sample()
        results = Results()
        if self.measurements:
            results = self.measurer.run(self.measurements, store, t, taken=values)
            values.update(results.weekly)
        rate = self.policy_forgetrate or self.forgetrate
        stats = store.update(t, values, rate)
        measured: dict[str, Measured] = {}
        if self.measurements or self._measured:
            weekly, symbols = self._records(results)
            measured = store.update_measures(t, weekly, results.scalars, symbols)
            self._measured = bool(measured)
        write_env_data(env_data_path(self.root), stats, sampler.ports, measured)
        self.samples += 1

    def _records(self, results: Results) -> tuple[dict[str, Measured], dict[str, Measured]]:
        """What the store keeps of the weekly measurements (their units and description:
        the numbers are observables) and of the string and list ones."""
        meta = {m.handle: (m.units, m.description) for m in self.measurements}
        weekly = {h: Measured("weekly", *meta.get(h, ("", ""))) for h in results.weekly}
        symbols = {
            h: Measured("slist" if isinstance(v, list) else "string", *meta.get(h, ("", "")),
                        text=tuple(v) if isinstance(v, list) else v)
            for h, v in results.symbols.items()
        }
        return weekly, symbols

    # -- the policy ----------------------------------------------------------------------

    def _policy_due(self, now: float) -> bool:
        if self._policy_mtimes is None or self._reread:
            return True
        if any(_mtime(Path(f)) != t for f, t in self._policy_mtimes.items()):
            return True
        return bool(self.measurements) and now - self._policy_read_at >= REEVALUATE_AFTER

    def refresh_policy(self, now: float) -> None:
        """Read the measurements from the policy when it is due (see the module doc)."""
        if not self._policy_due(now):
            return
        from engine.daemons.monitord.policy import PolicyReadError, read_monitor_policy

        self._policy_read_at = now
        self._reread = False
        entry = self.policy_file
        mtimes = {str(entry): _mtime(entry)}
        if not entry.exists():
            if self._policy_mtimes is None or self.measurements:
                self.log.info(f"No policy at '{entry}': no measurements to take")
            self._policy_mtimes = mtimes
            self.measurements = []
            self.policy_forgetrate = None
            return
        try:
            mp = read_monitor_policy(self.root, entry)
        except PolicyReadError as e:
            self.log.error(f"Could not read the monitor policy '{entry}': {e}")
            self._policy_mtimes = mtimes
            return
        for level, msg in mp.lines:
            (self.log.warning if level == "warning" else self.log.error)(msg)
        mtimes.update({f: _mtime(Path(f)) for f in mp.files})
        self._policy_mtimes = mtimes
        if not mp.ok:
            self.log.error(f"The policy '{entry}' is not valid; keeping the "
                           f"{len(self.measurements)} measurements read before")
            return
        taken: list[Measurement] = []
        for m in mp.measurements:
            problems = m.problems()
            for problem in problems:
                self.log.error(f"{m.where}: {problem}; the measurement is not taken")
            if not problems:
                taken.append(m)
        if [m.handle for m in taken] != [m.handle for m in self.measurements]:
            names = ", ".join(m.handle for m in taken) or "none"
            self.log.info(f"Measurements from the policy: {names}")
        self.measurements = taken
        self.policy_forgetrate = mp.forgetrate

    def serve(self) -> int:
        """Sample until SIGTERM/SIGINT (SIGHUP: read the policy again); the exit code."""
        life = Lifecycle(self.root, "monitord", self.log)
        if not life.claim():
            return 1
        life.on_signals(self._stop, self._reload)
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
                if self.once:
                    break
                life.rotate_log()
                self._sleep(self.interval - (time.monotonic() - started))
        finally:
            store.close()
            life.close()
            self.log.info("monitord stopped")
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0
