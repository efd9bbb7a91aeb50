"""Read models: what the state of a workdir is now, for the CLI and the console.

The one read path onto state, for vigil workdirs and real CFEngine ones
(``Workdir(root, cfengine=True)``). Each function returns frozen dataclasses; nothing
here writes, and nothing waits for a running agent. The console imports this package
statically and nothing else of the engine but :mod:`engine.workdir` and
:mod:`engine.settings`.

Modules: :mod:`~engine.inspect.daemons` (daemons, health, the scheduler's plan),
:mod:`~engine.inspect.locks`, :mod:`~engine.inspect.classes`,
:mod:`~engine.inspect.runs` (one :class:`RunSummary`, a run's detail and output),
:mod:`~engine.inspect.monitor`, :mod:`~engine.inspect.keys`,
:mod:`~engine.inspect.workdirs` (is this a workdir at all).
"""

from __future__ import annotations

from engine.cfengine import DEFAULT_WORKDIR as CFENGINE_DEFAULT
from engine.inspect.classes import (
    ClassesSnapshot,
    PersistentClassInfo,
    classes,
    persistent_classes,
    state_health,
)
from engine.inspect.daemons import (
    DaemonInfo,
    ExecdStatus,
    HealthIssue,
    daemon_statuses,
    execd_status,
    health,
)
from engine.inspect.keys import (
    KeysView,
    PeerKey,
    PeerKeyProbe,
    host_fingerprint,
    keys,
    peer_standing,
    probe_peer,
    standing_on_peer,
)
from engine.inspect.locks import LockInfo, LockSnapshot, lock_last_times, locks, ready_in
from engine.inspect.monitor import Observable, monitor_snapshot
from engine.inspect.runs import RunDetail, read_output, run_detail, run_report, runs
from engine.inspect.workdirs import problem as workdir_problem
from engine.state.runs import PromiseRecord, RunReport, RunSummary
from engine.text import DASH, duration, run_time

__all__ = [
    "PeerKeyProbe",
    "CFENGINE_DEFAULT", "ClassesSnapshot", "DaemonInfo", "ExecdStatus", "HealthIssue", "KeysView", "LockInfo",
    "LockSnapshot", "Observable", "PeerKey", "PersistentClassInfo", "PromiseRecord", "RunDetail", "RunReport", "RunSummary",
    "classes", "daemon_statuses", "execd_status", "health", "host_fingerprint", "keys",
    "lock_last_times", "locks", "monitor_snapshot", "peer_standing", "persistent_classes",
    "probe_peer",
    "read_output", "ready_in", "run_detail", "run_report", "runs", "standing_on_peer",
    "state_health", "workdir_problem",
    "DASH", "duration", "run_time",  # engine.text's, for the console
]
