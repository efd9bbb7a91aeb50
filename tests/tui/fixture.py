"""A workdir with known state, written by the engine's own state writers.

Everything is dated relative to :data:`FROZEN` (2026-11-22 10:00:00 UTC), so a console
whose clock is frozen there shows the same screens on every machine. Keys are made
from fixed seeds, so their fingerprints never change either.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from engine.atomicwrite import write_atomic
from engine.state.lockname import lock_name
from engine.state.locks import LockDB
from engine.state.monitor import MonitorStore
from engine.state.persistent import PersistentClassDB
from engine.state.runs import PromiseRecord, RunReport, write_run_report
from engine.trust.keys import KeyPaths, fingerprint, public_pem
from engine.trust.store import PeerState, TrustStore
from engine.workdir import Workdir
from tui.data.source import SelfStats

FROZEN = 1795341600.0  # 2026-11-22 10:00:00 UTC
HOST = "testhost"
HOLDER_PID = 1
LABEL = "/var/lib/vigil"
POLICY = "/var/lib/vigil/inputs/promises.cf"
ME = SelfStats(pid=5012, rss_bytes=41_000_000, cpu_percent=1.2, uptime_s=240.0)

# (bundle, type, promiser, line, ifelapsed, expireafter, minutes ago it last ran)
LOCKS = [
    ("main", "files", "/etc/ssh/sshd_config", 41, 60, 120, 19),
    ("main", "processes", "sshd", 57, 1, 120, 2),
    ("main", "reports", "vigil heartbeat", 63, 1, 120, 5),
    ("daily", "commands", "/usr/bin/apt-get update", 12, 1440, 1400, 480),
    ("web", "files", "/etc/nginx/nginx.conf", 88, 30, 120, 10),
]
HELD = ("backup", "commands", "/usr/local/bin/backup.sh", 22, 0, 120, 30)  # held since


def fixed_key(seed: int) -> tuple[ed25519.Ed25519PrivateKey, bytes]:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, raw


@contextmanager
def frozen_time(at: float = FROZEN) -> Iterator[None]:
    """``time.time()`` stands still at ``at`` (the writers stamp entries with it)."""
    real = time.time
    time.time = lambda: at  # type: ignore[assignment]
    try:
        yield
    finally:
        time.time = real  # type: ignore[assignment]


def lock_id(bundle: str, ptype: str, promiser: str) -> str:
    return lock_name(bundle, ptype, [], HOST, promiser, "0" * 32)


def write_locks(wd: Workdir) -> list[str]:
    ids = []
    db = LockDB.open(wd.lock_db, purge=False)
    try:
        for bundle, ptype, promiser, _line, ifel, expa, ago in LOCKS:
            name = lock_id(bundle, ptype, promiser)
            db.acquire(name, ifel, expa, now=FROZEN - ago * 60)
            db.release(name, now=FROZEN - ago * 60)
            ids.append(name)
        bundle, ptype, promiser, _line, ifel, expa, ago = HELD
        name = lock_id(bundle, ptype, promiser)
        # an agent still running the backup: a pid that is alive everywhere (init), so the
        # lock is held, not stale; start time 0 means "judge by the pid alone"
        db.pid, db.start_time = HOLDER_PID, 0
        db.acquire(name, ifel, expa, now=FROZEN - ago * 60)
        ids.append(name)
    finally:
        db.close()
    return ids


def records() -> list[PromiseRecord]:
    out = []
    for bundle, ptype, promiser, line, ifel, expa, ago in [*LOCKS, HELD]:
        elapsed = max(0, ago - 5)  # the newest run was 5 minutes ago
        locked = elapsed < ifel
        out.append(
            PromiseRecord(
                bundle, ptype, promiser, POLICY, line, 7,
                "skipped" if locked else "kept",
                "locked" if locked else None,
                f"{elapsed}/{ifel} minutes elapsed" if locked else "",
                lock_id(bundle, ptype, promiser), ifel, expa,
            )
        )
    out.append(PromiseRecord("main", "commands", "/usr/sbin/service nginx reload", POLICY, 70, 7,
                             "skipped", "guard_false", "nginx_changed is not defined"))
    out.append(PromiseRecord("main", "files", "/etc/motd", POLICY, 75, 7, "repaired", None,
                             "content changed"))
    out.append(PromiseRecord("web", "commands", "/usr/bin/false", POLICY, 95, 7, "notkept", None,
                             "returned 1"))
    return out


def write_runs(wd: Workdir) -> None:
    output = wd.outputs / "cf_testhost__1795341300_Sun_Nov_22_09_55_00_2026_0x7f"
    output.write_text(
        "  notice: Q: \".../bin/false\": returned 1\n"
        "    info: Edited file '/etc/motd'\n"
        "R: vigil heartbeat on testhost\n",
        encoding="utf-8",
    )
    recs = records()
    counts = {"kept": 3, "repaired": 1, "notkept": 1, "skipped": 5, "skipped_locked": 4,
              "skipped_guard_false": 1}
    specs = [
        # (start, seconds, exit, started_by, interrupted, output)
        (FROZEN - 25 * 60, 1.82, 0, "schedule", False, None),
        (FROZEN - 15 * 60, 0.41, 0, "forced", False, None),
        (FROZEN - 10 * 60, 125.0, 0, "schedule", True, None),
        (FROZEN - 5 * 60, 0.63, 1, "schedule", False, str(output)),
    ]
    for i, (start, secs, code, by, interrupted, out) in enumerate(specs):
        report = RunReport(
            id=time.strftime("%Y%m%dT%H%M%S", time.gmtime(start)) + f"-{4000 + i}",
            start=start,
            end=start + secs,
            pid=4000 + i,
            policy_file=POLICY,
            policy_hash="0" * 64,
            flags=["-I"] if by == "forced" else [],
            started_by=by,
            exit_code=code,
            interrupted=interrupted,
            counts=counts,
            classes=["heartbeat_repaired", "nginx_ok", "web_tier"],
            negated=["debug_mode"],
            promises=recs,
            output_file=out,
        )
        write_run_report(wd.runs, report)


def write_classes(wd: Workdir) -> None:
    db = PersistentClassDB.open(wd.state_db)
    try:
        db.save("heartbeat_repaired", 10, "reset", now=FROZEN - 4 * 60)
        db.save("maintenance_window", 120, "preserve", ["source=promise", "team=ops"], now=FROZEN - 30 * 60)
        db.save("fixture_persistent", 30, "reset", ["source=promise"], now=FROZEN - 60)
    finally:
        db.close()


def write_keys(wd: Workdir) -> None:
    key, raw = fixed_key(1)
    paths = KeyPaths.of(wd.ppkeys)
    paths.priv.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )
    paths.priv.chmod(0o600)
    paths.pub.write_text(public_pem(raw), encoding="ascii")
    store = TrustStore(wd.ppkeys)
    with frozen_time(FROZEN - 2 * 86400):
        store.add(fixed_key(2)[1], PeerState.TRUSTED, "hub01", "10.0.0.1")
        store.add(fixed_key(5)[1], PeerState.TRUSTED, "db01", "10.0.0.5")
    with frozen_time(FROZEN - 3 * 60):
        store.add(fixed_key(3)[1], PeerState.PENDING, "web07", "10.0.0.17")
    with frozen_time(FROZEN - 20 * 60):
        store.add(fixed_key(4)[1], PeerState.REJECTED, "old02", "10.0.0.99")
    with frozen_time(FROZEN - 60):
        store.add(fixed_key(6)[1], PeerState.PENDING, "db01", "10.0.0.5",
                  changed_from=fingerprint(fixed_key(5)[1]))


def write_execd_status(wd: Workdir) -> None:
    status = {
        "running": False,
        "policy_ok": True,
        "policy_error": None,
        "last_valid_at": FROZEN - 20 * 60,
        "next_run_at": FROZEN + 5 * 60,
        "splay": 37,
        "schedule": [f"Min{m:02d}_{(m + 5) % 60:02d}" for m in range(0, 60, 5)],
    }
    write_atomic(wd.state / "execd_status.json", (json.dumps(status) + "\n").encode(), 0o600)


def write_monitor(wd: Workdir) -> None:
    """Twenty samples a minute apart; the last load sample jumps well above the rest."""
    store = MonitorStore(wd.monitor_db)
    try:
        for i in range(20):
            t = FROZEN - (20 - i) * 60
            store.update(t, {
                "loadavg": 0.5 + 0.05 * (i % 3) if i < 19 else 3.9,
                "cpu": 10.0 + (i % 4),
                "diskfree": 61.0,
                "users": 2.0,
                "rootprocs": 120.0 + (i % 2),
                "otherprocs": 40.0 - (i % 3),
            })
    finally:
        store.close()


def build(root: Path) -> Workdir:
    """The fixture workdir under ``root``."""
    wd = Workdir(root).ensure()
    with frozen_time():
        write_locks(wd)
        write_runs(wd)
        write_classes(wd)
        write_execd_status(wd)
        write_monitor(wd)
    write_keys(wd)
    return wd
