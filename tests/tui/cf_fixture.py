"""A CFEngine workdir with known state, for the console's CFEngine-mode snapshots.

Written the way cf-agent, cf-key and cf-monitord write it (lock names as cf-agent
builds them, RSA keys, ``cf_lastseen.lmdb``, ``env_data``, ``ts_key``,
``cf_observations.lmdb``, ``promise_summary.log``, an output of cf-execd) and one
forced run the console recorded; dated relative to :data:`fixture.FROZEN`. Real
CFEngine is exercised by ``tests/tui/test_cfengine.py``; this one is for stable pictures.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import lmdb

from engine.cfengine.runs import record_dir
from engine.state.lockname import lock_name
from engine.state.locks import LockDB
from engine.state.persistent import PersistentClassDB
from engine.workdir import Workdir
from tests.tui.fixture import FROZEN, HOLDER_PID, frozen_time

LABEL = "/var/lib/cfengine3"
HOST = "web01"

POLICY = """body common control
{
  bundlesequence => { "main", "vigil_keepalive", "vigil_keepalive_for" };
}

body agent control
{
  ifelapsed => "3";
}

body action if_elapsed(x)
{
  ifelapsed => "$(x)";
  expireafter => "30";
}

bundle agent main
{
  commands:
    "/usr/bin/apt-get update" action => if_elapsed("120");
    "/usr/local/bin/backup.sh" action => if_elapsed("10");
  files:
    "/etc/motd" create => "true", action => if_elapsed("5");
  reports:
    "heartbeat on $(sys.host)";
}

bundle agent vigil_keepalive
{
  reports:
    "keepalive";
}

bundle agent vigil_keepalive_for
{
  reports:
    "keepalive for";
}
"""

# (bundle, type, lvals, promiser as in the lock name, minutes ago it last ran)
LOCKS = [
    ("main", "commands", ["action_name", "action", "ifelapsed", "expireafter"],
     "/usr/bin/apt-get update", 40),
    ("main", "files", ["create", "action_name", "action", "ifelapsed", "expireafter"], "/etc/motd", 2),
    ("main", "reports", [], f"heartbeat on {HOST}", 1),
    ("vigil_keepalive", "reports", [], "keepalive", 1),
    ("vigil_keepalive_for", "reports", [], "keepalive for", 4),
    ("package_global", "package_global", [], "new_packages_promise_lock", 30),
]
HELD = ("main", "commands", ["action_name", "action", "ifelapsed", "expireafter"],
        "/usr/local/bin/backup.sh", 3)

HOST_KEY = """-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAlRBGKpqtPSRyMMi2sl6z5yz9eHpFwr5CZfgwSzW9/lAu+BXug8x2
LI05wejq5bi1SM+97wz54Ags5/p34MOPE3fP0J4EpLzKwCriTM8lv1FQG5KIC7tr
5ZFrzhbUPRSCt/zxZGG4c4f9/nZ9uiL8IXBHh/rbON4c9xO0JSCGcEmQDsV16j8J
XMb3cK+JCHOIcOcbygTgpNdvga/vWjVnhIrmMJr4pyohU8tXwljsa32mTr089stV
7M9tjcVS52BVOB8A+xFh432ARJpn6YaXpqAeN+Lj11bqQWgII+yDDU7zVKLjc1tS
nm+bKHdQ53laepfOzxw/FTgRE5AjP07btwIDAQAB
-----END RSA PUBLIC KEY-----
"""
PEER_KEY = """-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAwxOvqbJB+nFQ05ixdSMafnASFsCIrAj0vgSPFXrrCEe9Jn6jr4HH
NlYpXuAPa3SwgIp7w4iVtt/xxi3Juzd2yKTlFFzLtt7EnYvBFGx2Jg5WztmnIDFv
p5ax9GzXUDofrkQ7ClNdP6T6ae0lLoBGMmrBbFvAsrfPjFo+jEC1IQ+bLKeqUq9T
Sh153IJO9nnFjTsDW9NYvYUojQgeHz8k5ln8roIzDNhtN6Hys6seKELn3J9YfdOn
Ia4FhnuGzvbBwKs2CMKWQSBnEKbyAQUC+op9UTXukuOiZF5uCbof1VxYSBdKX/fg
UkHEo5Y838gqZo147zJh+fAd3oCHjo6J4wIDAQAB
-----END RSA PUBLIC KEY-----
"""
HOST_DIGEST = "MD5=00a29aa39085eab3e296b2e5ebae5a6f"
PEER_DIGEST = "MD5=88d961ce4f27967ada3deb0df776a46e"
OBSERVABLES = [  # (name, description, unit, value, average, deviation, classes)
    ("users", "Users with active processes", "users", 2.0, 1.6, 0.5, ["users_high"]),
    ("rootprocs", "Sum privileged system processes", "processes", 123.0, 118.2, 3.1,
     ["rootprocs_high_normal"]),
    ("diskfree", "Free disk on / partition", "percent", 61.0, 61.0, 0.0, ["diskfree_normal"]),
    ("loadavg", "Kernel load average utilization", "jobs", 3.9, 0.7, 0.9, ["loadavg_high_ldt"]),
]


def _write_locks(wd: Workdir) -> None:
    db = LockDB.open(wd.lock_db, purge=False)
    try:
        for bundle, ptype, lvals, promiser, ago in LOCKS:
            name = lock_name(bundle, ptype, lvals, HOST, promiser, "0" * 32)
            db.acquire(name, 0, 120, now=FROZEN - ago * 60)
            db.release(name, now=FROZEN - ago * 60)
        bundle, ptype, lvals, promiser, ago = HELD
        name = lock_name(bundle, ptype, lvals, HOST, promiser, "0" * 32)
        db.pid, db.start_time = HOLDER_PID, 0
        db.acquire(name, 0, 30, now=FROZEN - ago * 60)
    finally:
        db.close()


def _write_lastseen(wd: Workdir) -> None:
    env = lmdb.open(str(wd.state / "cf_lastseen.lmdb"), subdir=False, map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"a10.0.0.1\0", PEER_DIGEST.encode() + b"\0")
        txn.put(b"k" + PEER_DIGEST.encode() + b"\0", b"10.0.0.1\0")
        for d, ago in (("i", 120), ("o", 600)):
            txn.put(f"q{d}{PEER_DIGEST}\0".encode(),
                    struct.pack("<q4d", int(FROZEN - ago), 300.0, 300.0, 0.0, 0.0))
    env.close()


def _write_monitor(wd: Workdir) -> None:
    lines, keys = [], []
    for i, (name, desc, unit, value, av, dev, classes) in enumerate(OBSERVABLES):
        lines += classes
        lines += [f"value_{name}={value:.2f}", f"av_{name}={av:.2f}", f"dev_{name}={dev:.2f}"]
        keys.append(f"{i},{name},{desc},{unit},0.000,100.000,1")
    (wd.state / "env_data").write_text("\n".join(lines) + "\n")
    (wd.state / "ts_key").write_text("\n".join(keys) + "\n")
    env = lmdb.open(str(wd.state / "cf_observations.lmdb"), subdir=False, map_size=1 << 20)
    with env.begin(write=True) as txn:
        for slot in range(12):
            t = int(FROZEN - (12 - slot) * 300)
            points = b"".join(
                struct.pack("<4d", o[3], o[4] + (slot % 4) * 0.1 * (o[4] or 1), o[5], 0.0)
                for o in OBSERVABLES
            ) + b"\0" * 32 * (100 - len(OBSERVABLES))
            txn.put(f"Sun:Hr09:Min{slot * 5:02d}_{slot * 5 + 5:02d}\0".encode(),
                    struct.pack("<q", t) + points)
    env.close()


def _write_runs(wd: Workdir) -> None:
    summary = []
    for ago, kept, repaired in ((25, 80.0, 20.0), (20, 100.0, 0.0), (10, 90.0, 10.0)):
        t = int(FROZEN - ago * 60)
        summary.append(f"{t},{t + 2}: Outcome of version 3.21.0 (agent-0): Promises observed to be "
                       f"kept {kept:.2f}%, Promises repaired {repaired:.2f}%, Promises not repaired 0.00%")
    (wd.root / "promise_summary.log").write_text("\n".join(summary) + "\n")
    t = int(FROZEN - 20 * 60)
    out = wd.outputs / f"cf_{HOST}__{t}_Sun_Nov_22_09_40_00_2026_0x7f00"
    out.write_text("R: heartbeat on web01\n")
    os.utime(out, (t + 3, t + 3))  # cf-execd closes the output when the run ends
    rec = record_dir(wd.root)
    rec.mkdir(parents=True, exist_ok=True)
    start = FROZEN - 10 * 60
    run_id = "20261122T095000-5100"
    (rec / f"{run_id}.log").write_text("  notice: Q: \".../backup.sh\": done\nR: heartbeat on web01\n")
    (rec / f"{run_id}.json").write_text(json.dumps({
        "id": run_id, "start": start, "end": start + 1.4, "exit_code": 0,
        "command": "cf-agent -K -I", "output": f"{run_id}.log", "workdir": str(wd.root)}))


def build(root: Path) -> Workdir:
    """The CFEngine fixture workdir under ``root`` (set XDG_STATE_HOME first: the
    console's run records live there)."""
    wd = Workdir(root, cfengine=True)
    for sub in ("inputs", "state", "outputs", "ppkeys"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "inputs" / "promises.cf").write_text(POLICY)
    (root / "ppkeys" / "localhost.pub").write_text(HOST_KEY)
    (root / "ppkeys" / f"root-{PEER_DIGEST}.pub").write_text(PEER_KEY)
    with frozen_time():
        _write_locks(wd)
        db = PersistentClassDB.open(wd.state_db)
        try:
            db.save("maintenance_window", 120, "preserve", ["source=promise"], now=FROZEN - 30 * 60)
        finally:
            db.close()
    _write_lastseen(wd)
    _write_monitor(wd)
    _write_runs(wd)
    return wd
