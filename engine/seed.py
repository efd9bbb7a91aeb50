"""Seeding a new workdir with the policy vigil ships.

The policy is package data, ``engine/data/policies/`` (``policies/`` at the top of
a checkout is a link to it), so that a wheel, ``pip install .`` or pipx carry it.
A workdir whose ``inputs/promises.cf`` is missing gets a copy of it, never
overwriting a file that is already there.
"""

from __future__ import annotations

from pathlib import Path

from engine.atomicwrite import write_atomic
from engine.workdir import Workdir, make_dirs

POLICY_DIR = Path(__file__).resolve().parent / "data" / "policies"


def shipped_policy_dir() -> Path | None:
    """The shipped policy's folder (package data), or None when it is missing."""
    return POLICY_DIR if (POLICY_DIR / "promises.cf").is_file() else None


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
        make_dirs(dest.parent, 0o700)
        write_atomic(dest, path.read_bytes(), 0o600)
        written.append(dest)
    return written
