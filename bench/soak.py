"""Daemon memory over a long run: does execd or monitord grow?

execd schedules a trivial real agent every second and monitord samples every
second, in one temp workdir, until both have done ``cycles`` cycles and at least
``minutes`` have passed (1,000 cycles and 10 minutes by default; serverd idles
beside them). RSS is read once a second. The table gives RSS after warm-up, at
the 10-minute mark, at the end, the largest sample, and the slope of a least-squares
line through the samples of the second half of the run (KB per 100 cycles): a leak
shows as a steady positive slope, noise as a slope near zero. (The first half holds
the warm-up of bounded state: monitord's history keeps the newest 240 samples per
observable, so its LMDB pages, which count in RSS, stop growing after 240 samples.)

Not part of ``python -m bench``'s default sections (it takes 17 minutes): run it as
``python -m bench soak`` or ``python -m bench.soak [--minutes M] [--cycles N]``.
``--quick`` runs 60 cycles, to check that the benchmark itself works.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from bench._harness import PYTHON, table
from bench.daemons import _mem, _start, _stop, _vigil_workdir

WARMUP_S = 60.0


def _cycles(wd: Path) -> tuple[int, int]:
    """(agent runs started by execd, samples taken by monitord) so far."""
    try:
        runs = int(json.loads((wd / "state" / "execd_status.json").read_text()).get("runs_started", 0))
    except (OSError, ValueError):
        runs = 0
    from engine.daemons.monitord.observables import monitor_snapshot

    samples = max((o.samples for o in monitor_snapshot(wd)), default=0)
    return runs, samples


def _slope_kb_per_100(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of RSS (MB) against cycle count, as KB per 100 cycles."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
    return round(slope * 1024 * 100, 1)


def soak(cycles: int, minutes: float, warmup_s: float = WARMUP_S) -> dict[str, object]:
    wd, env = _vigil_workdir()
    started = []
    pids: dict[str, int] = {}
    trace: dict[str, list[tuple[float, int, float]]] = {"execd": [], "monitord": [], "serverd": []}
    t0 = time.monotonic()
    try:
        for d, extra in (("execd", []), ("monitord", []),
                         ("serverd", ["--port", "0", "--bind", "127.0.0.1"])):
            p = _start([PYTHON, "-m", "engine", d, "-F", "-w", str(wd), *extra], env, wd / f"{d}.out")
            started.append(p)
            pids[d] = p.pid
        last_report = 0.0
        while True:
            time.sleep(1.0)
            elapsed = time.monotonic() - t0
            runs, samples = _cycles(wd)
            for d, pid in pids.items():
                if started[list(pids).index(d)].poll() is not None:
                    raise RuntimeError(f"{d} exited during the soak: see {wd / (d + '.out')}")
                count = runs if d == "execd" else samples if d == "monitord" else int(elapsed)
                trace[d].append((elapsed, count, _mem(pid)["rss_mb"]))
            if elapsed - last_report >= 60:
                last_report = elapsed
                print(f"  {elapsed / 60:4.1f} min: {runs} agent runs, {samples} samples, "
                      + ", ".join(f"{d} {trace[d][-1][2]:.1f} MB" for d in pids), file=sys.stderr)
            if min(runs, samples) >= cycles and elapsed >= minutes * 60:
                break
    finally:
        _stop(started)
        shutil.rmtree(wd, ignore_errors=True)
    results: dict[str, object] = {"cycles": cycles, "minutes": minutes, "warmup_s": warmup_s}
    rows = []
    for d, points in trace.items():
        after = [p for p in points if p[0] >= warmup_s] or points
        at_10 = min(points, key=lambda p: abs(p[0] - 600.0))
        r = {
            "cycles_done": points[-1][1],
            "rss_after_warmup_mb": after[0][2],
            "rss_at_10min_mb": at_10[2] if points[-1][0] >= 600 else None,
            "rss_end_mb": points[-1][2],
            "rss_max_mb": max(p[2] for p in after),
            "slope_kb_per_100_cycles": _slope_kb_per_100(
                [(p[1], p[2]) for p in points[len(points) // 2:]]),
            "trace_every_10s": [[round(p[0]), p[1], p[2]] for p in points[::10]],
        }
        results[d] = r
        rows.append([d, r["cycles_done"], f"{r['rss_after_warmup_mb']:.1f}",
                     f"{r['rss_at_10min_mb']:.1f}" if r["rss_at_10min_mb"] is not None else "—",
                     f"{r['rss_end_mb']:.1f}", f"{r['rss_max_mb']:.1f}",
                     f"{r['slope_kb_per_100_cycles']:+.1f}"])
    print(table(
        f"soak: RSS (MB) of vigil's daemons over {trace['execd'][-1][0] / 60:.1f} min "
        f"(execd runs an agent every second, monitord samples every second; serverd idles; "
        f"cycles for serverd are seconds)",
        ["daemon", "cycles", f"after {warmup_s:g} s", "at 10 min", "end", "max",
         "KB / 100 cycles, 2nd half"],
        rows,
    ))
    return results


def main(quick: bool = False) -> dict[str, object]:
    if quick:
        return soak(cycles=60, minutes=0, warmup_s=20.0)
    return soak(cycles=1000, minutes=10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="60 cycles: check the benchmark works")
    ap.add_argument("--cycles", type=int, default=1000, help="agent runs and monitor samples (1000)")
    ap.add_argument("--minutes", type=float, default=10.0, help="at least this long (10)")
    ap.add_argument("--json", type=Path, help="also write the results to this file")
    a = ap.parse_args()
    res = main(True) if a.quick else soak(a.cycles, a.minutes)
    if a.json:
        a.json.write_text(json.dumps(res, indent=2) + "\n")
