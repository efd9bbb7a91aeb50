"""Shared benchmark plumbing: timing child processes, CFEngine workdirs, tables."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable


@dataclass(slots=True)
class Sample:
    wall: float
    maxrss_kb: int
    rc: int


def timed(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None) -> Sample:
    """Run ``cmd`` once; wall seconds and peak RSS (KiB) from wait4, output discarded."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(wall, usage.ru_maxrss, proc.returncode)


@dataclass(slots=True)
class Stat:
    median: float
    minimum: float
    rss_kb: int

    def as_dict(self) -> dict[str, float]:
        return {"median_s": round(self.median, 4), "min_s": round(self.minimum, 4),
                "peak_rss_mb": round(self.rss_kb / 1024, 1)}


def summarise(samples: list[Sample]) -> Stat:
    walls = [s.wall for s in samples]
    return Stat(statistics.median(walls), min(walls), max(s.maxrss_kb for s in samples))


def have_cfengine() -> bool:
    return shutil.which("cf-agent") is not None and shutil.which("cf-key") is not None


_TEMPLATE: Path | None = None


def cfengine_workdir() -> Path:
    """A fresh CFEngine workdir (bin -> /usr/bin, keys from cf-key), copied from a template."""
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = Path(tempfile.mkdtemp(prefix="bench-cft-"))
        (_TEMPLATE / "bin").symlink_to(Path(shutil.which("cf-agent")).parent)  # type: ignore[arg-type]
        subprocess.run(["cf-key"], env={**os.environ, "CFENGINE_TEST_OVERRIDE_WORKDIR": str(_TEMPLATE)},
                       check=True, capture_output=True)
    wd = Path(tempfile.mkdtemp(prefix="bench-cf-"))
    shutil.rmtree(wd)
    shutil.copytree(_TEMPLATE, wd, symlinks=True)
    return wd


def cf_env(wd: Path) -> dict[str, str]:
    return {**os.environ, "CFENGINE_TEST_OVERRIDE_WORKDIR": str(wd)}


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "—"
    return f"{a / b:.2f}"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells[1:]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return "\n".join(lines)
