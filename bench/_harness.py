"""Shared benchmark plumbing: timing child processes, CFEngine workdirs, tables, targets.

Whether CFEngine is installed, and how its workdir is made, bench asks
:mod:`tests.cfhost`, as the tests do (``HAVE_CFENGINE``, ``missing``, ``which``,
``cf_env``, ``make_workdir``).

Peak RSS is the child's own. ``wait4`` on a child spawned straight from this process
would report *our* high-water mark whenever it is larger: Linux records the old
address space's peak at ``exec``, and a ``vfork``ed child's old address space is the
parent's. So :func:`timed` starts a small launcher interpreter that ``fork``s and
``exec``s the command, times it, and reports the grandchild's ``wait4`` figures. The
launcher's own floor (about 7 MB of copied heap) is below anything measured here.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.cfhost import make_workdir

PYTHON = sys.executable

_LAUNCHER = r"""
import os, sys, time
fd, cmd = int(sys.argv[1]), sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.execvp(cmd[0], cmd)
    except OSError as e:
        os.write(2, f"cannot run {cmd[0]}: {e}".encode())
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
os.write(fd, f"{wall!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}".encode())
"""


class BenchError(RuntimeError):
    """A benchmark could not measure what it set out to (a run failed, a check missed)."""


@dataclass(slots=True)
class Sample:
    wall: float
    maxrss_kb: int
    rc: int
    err: str = ""


def timed(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None) -> Sample:
    """Run ``cmd`` once: wall seconds and its own peak RSS (KiB); stdout is discarded,
    the last 2,000 characters of stderr are kept for error messages."""
    rfd, wfd = os.pipe()
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                [PYTHON, "-I", "-S", "-c", _LAUNCHER, str(wfd), *cmd], pass_fds=(wfd,),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cwd,
            )
        finally:
            os.close(wfd)
        with os.fdopen(rfd, "rb") as pipe:
            report = pipe.read().decode()
        proc.wait()
        err.seek(0)
        tail = err.read().decode(errors="replace")[-2000:]
    if not report:
        raise BenchError(f"launcher failed for {list(cmd)[:4]}: {tail}")
    wall, rss, rc = report.split()
    return Sample(float(wall), int(rss), int(rc), tail)


def repeat(cmd: Sequence[str], reps: int, env: dict[str, str] | None = None,
           cwd: str | None = None, ok: Iterable[int] = (0,)) -> list[Sample]:
    """``reps`` timed runs of ``cmd``; raises :class:`BenchError` on an unexpected exit code."""
    allowed = set(ok)
    out = []
    for _ in range(reps):
        s = timed(cmd, env=env, cwd=cwd)
        check(s, cmd, allowed)
        out.append(s)
    return out


def check(sample: Sample, cmd: Sequence[str], ok: Iterable[int] = (0,)) -> Sample:
    if sample.rc not in set(ok):
        raise BenchError(f"{' '.join(list(cmd)[:6])} exited {sample.rc}: {sample.err.strip()}")
    return sample


@dataclass(slots=True)
class Stat:
    median: float
    minimum: float
    rss_kb: int

    def as_dict(self) -> dict[str, float]:
        return {"median_s": round(self.median, 4), "min_s": round(self.minimum, 4),
                "peak_rss_mb": round(self.rss_kb / 1024, 1)}

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024


def summarise(samples: Sequence[Sample]) -> Stat:
    """Median and minimum wall time; the largest peak RSS of the samples."""
    if not samples:
        raise ValueError("no samples")
    walls = [s.wall for s in samples]
    return Stat(statistics.median(walls), min(walls), max(s.maxrss_kb for s in samples))


def cfengine_workdir() -> Path:
    """A fresh CFEngine workdir in a new temp dir (:func:`tests.cfhost.make_workdir`:
    ``bin``, the process's key pair from cf-key, an inert failsafe)."""
    return make_workdir(Path(tempfile.mkdtemp(prefix="bench-cf-")))


def ratio_of(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either side is missing or b is zero."""
    if a is None or not b:
        return None
    return a / b


def ratio(a: float | None, b: float | None) -> str:
    """a / b formatted for a table cell ("—" when it cannot be computed)."""
    r = ratio_of(a, b)
    return "—" if r is None else f"{r:.2f}"


def mb(kb: float) -> str:
    return f"{kb / 1024:.1f}"


def med_min(stat: Stat | None, digits: int = 3) -> str:
    """``median / min`` seconds of a Stat, or "—"."""
    return "—" if stat is None else f"{stat.median:.{digits}f} / {stat.minimum:.{digits}f}"


def _numeric(cell: str) -> bool:
    head = cell.split(" / ")[0].rstrip("x%")
    try:
        float(head)
    except ValueError:
        return cell in ("—", "")
    return True


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: left-aligned text, right-aligned numbers, one rule under the header."""
    cells = [[str(c) for c in header]] + [["—" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    right = [len(cells) > 1 and all(_numeric(r[i]) for r in cells[1:])
             and any(r[i] not in ("—", "") for r in cells[1:]) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if ra else c.ljust(w)
                         for c, w, ra in zip(r, widths, right, strict=True)).rstrip()

    return "\n".join([title, line(cells[0]), "  ".join("-" * w for w in widths), *map(line, cells[1:])])
