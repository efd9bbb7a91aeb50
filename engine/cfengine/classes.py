"""The classes ``cf-promises --show-classes`` reports for a CFEngine workdir's policy.

cf-promises evaluates the policy's common bundles, so this is the hard classes of the
host plus the soft classes common bundles define and the persistent ones, each with
its tags. ``hardclass`` in the tags marks a hard class.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from engine.cfengine import tool, tool_env


@dataclass(frozen=True, slots=True)
class Shown:
    hard: list[str]
    soft: list[str]
    tags: dict[str, str]
    note: str | None  # why there are none (no cf-promises, a policy error)
    at: float


_CACHE: dict[str, Shown] = {}
TTL_S = 60.0


def show_classes(root: Path, now: float | None = None) -> Shown:
    """Run (at most once a minute per workdir) ``cf-promises --show-classes``."""
    t = time.time() if now is None else now
    key = str(root)
    hit = _CACHE.get(key)
    if hit is not None and abs(t - hit.at) < TTL_S:
        return hit
    shown = _run(root, t)
    _CACHE[key] = shown
    return shown


def _run(root: Path, t: float) -> Shown:
    binary = tool(root, "cf-promises")
    if binary is None:
        return Shown([], [], {}, "cf-promises is not installed: hard and soft classes are "
                     "not shown (persistent classes are)", t)
    entry = root / "inputs" / "promises.cf"
    argv = [binary, "--show-classes"] + (["-f", str(entry)] if entry.exists() else [])
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=30, env=tool_env(root))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Shown([], [], {}, f"cf-promises --show-classes failed: {exc}", t)
    hard: list[str] = []
    soft: list[str] = []
    tags: dict[str, str] = {}
    for line in proc.stdout.splitlines()[1:]:
        parts = line.split()
        if not parts:
            continue
        name = parts[0]
        tag = parts[1] if len(parts) > 1 else ""
        tags[name] = tag
        (hard if "hardclass" in tag.split(",") else soft).append(name)
    note = None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        note = f"cf-promises exited {proc.returncode}: {last}"
    return Shown(sorted(hard), sorted(soft), tags, note, t)
