"""Seeding a new workdir with the policy vigil ships (``policies/``).

A workdir whose ``inputs/promises.cf`` is missing gets a copy of the shipped
policy, never overwriting a file that is already there.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from engine.workdir import Workdir


def shipped_policy_dir() -> Path | None:
    """The ``policies/`` folder beside the engine package, or under the prefix's share/."""
    candidates = [
        Path(__file__).resolve().parent.parent / "policies",
        Path(sys.prefix) / "share" / "vigil" / "policies",
    ]
    for c in candidates:
        if (c / "promises.cf").is_file():
            return c
    return None


def seed_workdir(wd: Workdir) -> list[Path]:
    """Copy the shipped policy into ``wd/inputs`` where files are missing; returns what was written."""
    wd.ensure()
    if wd.promises_cf.exists():
        return []
    src = shipped_policy_dir()
    if src is None:
        return []
    written: list[Path] = []
    for path in sorted(src.rglob("*.cf")):
        dest = wd.inputs / path.relative_to(src)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        shutil.copyfile(path, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)
        written.append(dest)
    return written
