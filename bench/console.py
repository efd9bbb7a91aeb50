"""Console refresh cost with 10,000 locks and 2,000 persistent classes, and its RSS.

A temp workdir is filled through the engine's own writers (LockDB, PersistentClassDB,
a run report naming every lock). The console runs headless at 160x50 with its clock
frozen; each figure is the median over several ticks, measured from the moment the
data reaches the screen to the moment the repaint is done (``call_after_refresh``):

- read:    ``engine.inspect`` in the poll thread (LMDB scan + report join),
- apply:   the screen taking a new snapshot (sort + filter in Python, visible rows drawn),
- tick:    the once-a-second countdown repaint (visible rows only, no read), and the part
           of it spent rendering the table's visible lines,
- filter:  typing a filter over every row.
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._harness import table
from engine.state.locks import LockDB
from engine.state.persistent import PersistentClassDB
from engine.state.runs import PromiseRecord, RunReport, write_run_report
from engine.workdir import Workdir

NOW = 1795341600.0
SIZE = (160, 50)


def build(root: Path, n_locks: int, n_classes: int) -> Workdir:
    wd = Workdir(root).ensure()
    names = [f"b{i % 50}.files.-bench.promiser_{i}_{i % 8192}_MD5={i:032x}" for i in range(n_locks)]
    db = LockDB.open(wd.lock_db, purge=False)
    try:
        def fill(txn: Any) -> None:  # one write transaction: the agent's own batching
            for i, name in enumerate(names):
                t = int(NOW - (i % 1440) * 60)
                txn.put(f"last.{name}\0".encode(), db._value(t))
        db.store.write(fill)
    finally:
        db.close()
    records = [
        PromiseRecord(f"b{i % 50}", "files", f"/srv/bench/file_{i}", "/bench/promises.cf", 10 + i, 7,
                      "skipped", "locked", "0/60 minutes elapsed", name, 60 + i % 1440, 120)
        for i, name in enumerate(names)
    ]
    write_run_report(wd.runs, RunReport("bench", NOW - 60, NOW - 59, 1, "/bench/promises.cf", "0",
                                        promises=records))
    pdb = PersistentClassDB.open(wd.state_db)
    try:
        for i in range(n_classes):
            pdb.save(f"bench_class_{i}", 10 + i % 600, "reset", ["source=promise"], now=NOW)
    finally:
        pdb.close()
    return wd


async def measure(wd: Workdir, ticks: int) -> dict[str, float]:
    from tui.app import VigilConsole
    from tui.messages import ClassesRefreshed, LocksRefreshed

    app = VigilConsole(wd, live=False, offer_start=False, clock=lambda: NOW)
    out: dict[str, list[float]] = {"read_ms": [], "apply_ms": [], "tick_ms": [], "render_ms": [],
                                   "filter_ms": [],
                                   "classes_read_ms": [], "classes_apply_ms": []}

    async with app.run_test(size=SIZE) as pilot:

        async def painted(action: Any) -> float:
            done = asyncio.get_running_loop().create_future()
            t0 = time.perf_counter()
            action()
            app.screen.call_after_refresh(lambda: done.set_result(time.perf_counter() - t0))
            return float(await done) * 1000

        await pilot.press("3")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen: Any = app.screen
        locks_table = screen.query_one("#locks")
        for _ in range(ticks):
            t0 = time.perf_counter()
            snap = app.source.locks()
            out["read_ms"].append((time.perf_counter() - t0) * 1000)
            out["apply_ms"].append(await painted(lambda s=snap: screen.on_locks_refreshed(LocksRefreshed(s))))
            out["tick_ms"].append(await painted(locks_table.refresh))
            t0 = time.perf_counter()
            for y in range(locks_table.size.height):  # what the table itself spends per frame
                locks_table.render_line(y)
            out["render_ms"].append((time.perf_counter() - t0) * 1000)
        for text in ("b7", "promiser_99", ""):
            out["filter_ms"].append(await painted(lambda t=text: locks_table.set_filter(t)))
        rows = locks_table.total

        await pilot.press("2")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        cscreen: Any = app.screen
        for _ in range(ticks):
            t0 = time.perf_counter()
            snap = app.source.classes()
            out["classes_read_ms"].append((time.perf_counter() - t0) * 1000)
            out["classes_apply_ms"].append(
                await painted(lambda s=snap: cscreen.on_classes_refreshed(ClassesRefreshed(s)))
            )
        persistent = sum(1 for r in cscreen.query_one("#classes").all_rows if r.kind == "persistent")

    result = {k: round(statistics.median(v), 1) for k, v in out.items()}
    result["locks_shown"] = rows
    result["persistent_classes_shown"] = persistent
    result["console_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def main(quick: bool = False) -> dict:
    n_locks, n_classes = 10_000, 2_000
    ticks = 3 if quick else 10
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    try:
        wd = build(tmp / "wd", n_locks, n_classes)
        result = asyncio.run(measure(wd, ticks))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        ["locks: read (engine.inspect, poll thread)", result["read_ms"]],
        ["locks: apply snapshot + repaint", result["apply_ms"]],
        ["locks: countdown tick (repaint only, whole frame)", result["tick_ms"]],
        ["locks: of which the table's visible lines", result["render_ms"]],
        ["locks: filter over every row", result["filter_ms"]],
        ["classes: read (engine.inspect)", result["classes_read_ms"]],
        ["classes: apply snapshot + repaint", result["classes_apply_ms"]],
    ]
    print(table(f"console, {n_locks} locks and {n_classes} persistent classes (median ms)",
                ["what", "ms"], rows))
    print(f"console peak RSS: {result['console_peak_rss_mb']} MB")
    return result


if __name__ == "__main__":
    main()
