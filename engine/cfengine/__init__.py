"""Reading a real CFEngine 3 workdir (``/var/lib/cfengine3`` or one selected with
``CFENGINE_TEST_OVERRIDE_WORKDIR``): its daemons, lock rules from its policy, RSA keys
and ``cf_lastseen.lmdb``, cf-monitord's ``env_data`` and history, the runs it leaves
behind, and the classes ``cf-promises`` reports.

Everything here reads; nothing writes CFEngine's state. :mod:`engine.inspect` turns
these into the read models the CLI and the console show; the only writer is
:mod:`engine.cfengine.record`, run as a subprocess around a forced ``cf-agent`` run.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_WORKDIR = Path("/var/lib/cfengine3")
OVERRIDE_ENV = "CFENGINE_TEST_OVERRIDE_WORKDIR"


def is_default(root: Path) -> bool:
    """True for the installed workdir (no override variable needed to reach it)."""
    try:
        return root.resolve() == DEFAULT_WORKDIR.resolve()
    except OSError:
        return False


def tool_env(root: Path) -> dict[str, str] | None:
    """The environment a CFEngine tool needs to work on ``root`` (None: inherit)."""
    if is_default(root):
        return None
    return dict(os.environ, **{OVERRIDE_ENV: str(root)})


def tool(root: Path, name: str) -> str | None:
    """``root/bin/NAME`` when it is there, else ``NAME`` on PATH, else None."""
    import shutil

    own = root / "bin" / name
    if own.is_file() and os.access(own, os.X_OK):
        return str(own)
    return shutil.which(name)
