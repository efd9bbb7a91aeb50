"""Which workdir the console opens, and what it prepares there on a fresh machine.

On a fresh machine ``vigil console`` must just work: it uses the default workdir, or,
when that is not ours to write (the root default on a non-root run, a read-only
path), an embedded one under ``$XDG_STATE_HOME/vigil``. It seeds
``inputs/promises.cf`` from the policy the project ships when there is none, and
touches nothing outside the workdir. Preparing (creating and seeding) is the engine's
side: :func:`engine.commands.console.prepare`, run before the console starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.inspect import CFENGINE_DEFAULT
from engine.workdir import Workdir, default_workdir

ROOT_DEFAULT = Path("/var/lib/vigil")


def embedded_workdir() -> Path:
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "vigil"


def _writable(path: Path) -> bool:
    """True when ``path`` exists and is writable, or could be created."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def choose_workdir(explicit: str | None, cfengine: str | None) -> Workdir:
    """``--cfengine`` wins, then ``-w``, then the default (or the embedded fallback)."""
    if cfengine is not None:
        return Workdir(Path(cfengine or CFENGINE_DEFAULT).absolute(), cfengine=True)
    if explicit:
        return Workdir.resolve(explicit)
    default = default_workdir()
    if (default == ROOT_DEFAULT and os.geteuid() != 0) or not _writable(default):
        return Workdir(embedded_workdir().absolute())
    return Workdir(default.absolute())
