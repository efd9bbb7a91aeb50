"""The files a bootstrap leaves in the workdir, as cf-agent leaves them.

``policy_server.dat`` holds the argument as given (``10.0.0.1``, ``hub:5308``) and a
newline;
``state/am_policy_hub`` (empty, 0600) exists on the hub only. A failed bootstrap takes
both away again. Before the bootstrap policy is written, everything in ``inputs/`` goes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from engine.atomicwrite import write_atomic
from engine.eval.policyhub import AM_POLICY_HUB, POLICY_SERVER_FILE
from engine.workdir import make_dirs


def write_policy_server(workdir: Path, argument: str) -> Path:
    path = workdir / POLICY_SERVER_FILE
    write_atomic(path, argument.encode() + b"\n", mode=0o600)
    return path


def mark_hub(workdir: Path, am_hub: bool) -> None:
    """Create or remove ``state/am_policy_hub``."""
    marker = workdir / "state" / AM_POLICY_HUB
    if am_hub:
        make_dirs(marker.parent, 0o700)
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        os.close(fd)
    else:
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()


def forget(workdir: Path) -> None:
    """Undo a failed bootstrap: no hub, not the hub."""
    with contextlib.suppress(FileNotFoundError):
        (workdir / POLICY_SERVER_FILE).unlink()
    mark_hub(workdir, False)


def empty_inputs(inputs: Path) -> None:
    """Remove everything under ``inputs/`` (not the directory; a link to it is not
    followed). OSError when something cannot be removed."""
    if inputs.is_symlink() or (inputs.exists() and not inputs.is_dir()):
        raise OSError(f"Inputs path exists at '{inputs}', but it is not a directory")
    if not inputs.exists():
        return
    for entry in os.scandir(inputs):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
