"""Where vigil keeps its state, and the layout inside it.

Resolution order: an explicit ``-w``, then ``VIGIL_WORKDIR``, then
``/var/lib/vigil`` for root or ``$XDG_STATE_HOME/vigil`` (``~/.local/state/vigil``)
for everyone else. File names follow CFEngine's so that tools of either side can
read the other's workdir.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine._records import Frozen, set_field

DAEMONS = ("execd", "serverd", "monitord")


def default_workdir() -> Path:
    env = os.environ.get("VIGIL_WORKDIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/vigil")
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "vigil"


class Workdir(Frozen):
    """Paths inside one workdir. ``cfengine`` marks a real CFEngine workdir."""

    __slots__ = ("root", "cfengine")
    __match_args__ = ("root", "cfengine")
    root: Path
    cfengine: bool

    def __init__(self, root: Path, cfengine: bool = False) -> None:
        set_field(self, "root", root)
        set_field(self, "cfengine", cfengine)

    @classmethod
    def resolve(cls, explicit: str | os.PathLike[str] | None = None) -> Workdir:
        return cls(Path(explicit).absolute() if explicit else default_workdir().absolute())

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    @property
    def promises_cf(self) -> Path:
        return self.inputs / "promises.cf"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def runs(self) -> Path:
        return self.outputs / "runs"

    @property
    def ppkeys(self) -> Path:
        return self.root / "ppkeys"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def modules(self) -> Path:
        return self.root / "modules"

    @property
    def settings_file(self) -> Path:
        return self.root / "vigil.toml"

    @property
    def lock_db(self) -> Path:
        return self.state / "cf_lock.lmdb"

    @property
    def state_db(self) -> Path:
        return self.state / "cf_state.lmdb"

    @property
    def monitor_db(self) -> Path:
        return self.state / "monitor.lmdb"

    def pidfile(self, daemon: str) -> Path:
        """``execd`` -> ``<root>/execd.pid`` (``cf-execd.pid`` for a CFEngine workdir)."""
        name = f"cf-{daemon}" if self.cfengine else daemon
        return self.root / f"{name}.pid"

    def ensure(self) -> Workdir:
        """Create the layout with CFEngine's modes (0700 where secrets or state live)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o755)
        for sub, mode in (
            (self.inputs, 0o700),
            (self.state, 0o700),
            (self.outputs, 0o700),
            (self.runs, 0o700),
            (self.ppkeys, 0o700),
            (self.logs, 0o700),
            (self.modules, 0o700),
        ):
            sub.mkdir(parents=True, exist_ok=True, mode=mode)
        return self
