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


def make_dirs(path: Path, mode: int = 0o700, parents_mode: int = 0o755) -> Path:
    """``mkdir -p`` with explicit modes: ``path`` gets ``mode``, each missing parent
    ``parents_mode``. ``Path.mkdir(parents=True)`` makes parents 0777 less the umask,
    so world-writable under ``umask 000``; here the umask can only take bits away.
    """
    missing: list[Path] = []
    p = path
    while not p.is_dir():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for i, d in enumerate(reversed(missing)):
        try:
            os.mkdir(d, mode if i == len(missing) - 1 else parents_mode)
        except FileExistsError:
            if not d.is_dir():
                raise
    return path


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
    def masterfiles(self) -> Path:
        return self.root / "masterfiles"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

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

    def sys_paths(self) -> dict[str, str]:
        """The ``sys.*`` directories and policy paths cf-agent 3.21 derives from its
        workdir (``sys.inputdir``, ``sys.statedir``, ``sys.default_policy_path``, ...);
        the agent, the policy loader and serverd all take them from here."""
        wd = str(self.root)
        inputs = str(self.inputs)
        return {
            "workdir": wd,
            "inputdir": inputs,
            "libdir": f"{inputs}/lib",
            "local_libdir": "lib",
            "masterdir": str(self.masterfiles),
            "statedir": str(self.state),
            "logdir": wd,
            "piddir": wd,
            "bindir": str(self.bin),
            "default_policy_path": str(self.promises_cf),
            "failsafe_policy_path": f"{inputs}/failsafe.cf",
            "update_policy_path": f"{inputs}/update.cf",
        }

    def pidfile(self, daemon: str) -> Path:
        """``execd`` -> ``<root>/execd.pid`` (``cf-execd.pid`` for a CFEngine workdir)."""
        name = f"cf-{daemon}" if self.cfengine else daemon
        return self.root / f"{name}.pid"

    def ensure(self) -> Workdir:
        """Create the layout with CFEngine's modes (0700 where secrets or state live)."""
        make_dirs(self.root, 0o755)
        for sub, mode in (
            (self.inputs, 0o700),
            (self.state, 0o700),
            (self.outputs, 0o700),
            (self.runs, 0o700),
            (self.ppkeys, 0o700),
            (self.logs, 0o700),
            (self.modules, 0o700),
        ):
            make_dirs(sub, mode)
        return self
