"""vigil's bootstrap policy (``engine/data/bootstrap/failsafe.cf``), written to
``inputs/failsafe.cf`` by ``--bootstrap``.

It does what cf-agent's built-in failsafe does, in vigil's words: fetch the hub's
``masterfiles`` (its shortcut; a hub without the shortcut by its path) into
``inputs/``, and ``modules/`` on a client; run the fetched ``update.cf`` and then
``promises.cf`` once, each as a separate agent run; start the scheduler (and, on the
hub, the server); report each step. The bootstrap defines the classes it reads:
``bootstrap_mode``, ``trust_server`` (the hub's key may be trusted on first use),
``policy_server`` / ``am_policy_hub`` on the hub, ``skip_policy_on_bootstrap``,
``bootstrap_skip_services``, and ``vigil_execd_running`` / ``vigil_serverd_running``
when those daemons of the workdir run already.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.atomicwrite import write_atomic

FILE_NAME = "failsafe.cf"

POLICY_FILE = Path(__file__).resolve().parent.parent / "data" / "bootstrap" / FILE_NAME


def write(inputs: Path) -> Path:
    """Write the policy to ``inputs/failsafe.cf`` (mode 0600, as cf-agent writes it)."""
    os.makedirs(inputs, 0o700, exist_ok=True)
    path = inputs / FILE_NAME
    write_atomic(path, POLICY_FILE.read_bytes(), mode=0o600)
    return path
