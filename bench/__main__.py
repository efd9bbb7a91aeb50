"""`python -m bench [--quick] [SECTION...]` — every benchmark, one table each, results.json.

Sections: parse, agent, realpolicy, daemons, serverd, console (and soak and fleet, only when named). Each module's ``main(quick)``
prints its table and returns a dict. Every section runs in its own child
interpreter, so one that crashes, hangs (it gets a time budget) or bloats cannot
spoil the next one's figures; a missing module is reported, not fatal. The
results, a description of the machine and a summary of the targets are written
to bench/results.json (bench/results-quick.json with --quick). CI runs ``--quick`` and fails only if a benchmark itself
errors, never on a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import FrameType

from bench._targets import summary_rows, targets
from tests.cfhost import cf_version

SECTIONS = ("parse", "agent", "realpolicy", "daemons", "serverd", "console")
OPTIONAL = ("soak", "fleet")  # run only when named: the soak takes 17 minutes, the fleet 10+
BUDGET_S = {True: 150.0, False: 3600.0}  # per section: --quick, full
SECTION_BUDGET_S = {"fleet": {True: 1800.0, False: 5400.0}}  # sections that need more


def machine() -> dict[str, object]:
    """What the figures were measured on, recorded beside them."""
    cf = cf_version()
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "cfengine": cf,
    }


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def run_child(name: str, quick: bool, out: Path) -> int:
    """Inside the child: run one section and write its result as JSON to ``out``.

    SIGTERM becomes SystemExit so the section's ``finally`` blocks stop its daemons."""
    previous = signal.signal(signal.SIGTERM, _raise_exit)
    try:
        return _run_module(name, quick, out)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_module(name: str, quick: bool, out: Path) -> int:
    try:
        module = importlib.import_module(f"bench.{name}")
    except ImportError as e:
        out.write_text(json.dumps({"error": f"not available: {e}"}))
        print(f"[{name}] not available: {e}")
        return 3
    try:
        result = module.main(quick=quick)
    except Exception as e:
        traceback.print_exc()
        out.write_text(json.dumps({"error": repr(e)}))
        return 1
    out.write_text(json.dumps(result, default=str))
    return 0


def run_section(name: str, quick: bool, budget: float,
                command: list[str] | None = None) -> dict[str, object]:
    """Run one section in a child interpreter; its tables go straight to our stdout.

    ``command`` replaces the child's command line (it gets ``--out FILE`` appended)."""
    with tempfile.TemporaryDirectory(prefix="bench-section-") as tmp:
        out = Path(tmp) / "result.json"
        argv = command or [sys.executable, "-m", "bench", "--child", name, *(["--quick"] if quick else [])]
        proc = subprocess.Popen([*argv, "--out", str(out)], start_new_session=True)
        t0 = time.monotonic()
        try:
            rc = proc.wait(budget)
        except subprocess.TimeoutExpired:
            _end(proc)
            return {"error": f"exceeded its budget of {budget:g} s", "wall_s": round(budget, 1)}
        wall = round(time.monotonic() - t0, 1)
        try:
            result = json.loads(out.read_text())
        except (OSError, ValueError):
            return {"error": f"exited {rc} without a result", "wall_s": wall}
    if not isinstance(result, dict):
        result = {"value": result}
    if rc != 0 and "error" not in result:
        result["error"] = f"exited {rc}"
    result["wall_s"] = wall
    return result


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Stop a section that ran over: SIGTERM (its cleanup runs), then SIGKILL its group."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one repetition, small sizes (< 1 min)")
    ap.add_argument("--out", help="where to write the results (default: bench/results.json, "
                    "or bench/results-quick.json with --quick, so a smoke run never replaces a full one)")
    ap.add_argument("--budget", type=float, help="seconds allowed per section")
    ap.add_argument("--child", choices=SECTIONS + OPTIONAL, help=argparse.SUPPRESS)
    ap.add_argument("sections", nargs="*", metavar="SECTION",
                    help=f"any of: {', '.join(SECTIONS + OPTIONAL)} (default: all but {', '.join(OPTIONAL)})")
    args = ap.parse_args(argv)
    if args.child:
        return run_child(args.child, args.quick, Path(args.out))
    out = Path(args.out or Path(__file__).with_name("results-quick.json" if args.quick else "results.json"))
    unknown = [s for s in args.sections if s not in SECTIONS + OPTIONAL]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS + OPTIONAL)}")
    chosen = args.sections or list(SECTIONS)
    results: dict[str, object] = {"machine": machine(), "quick": args.quick}
    t0 = time.monotonic()
    failed = []
    for name in chosen:
        sys.stdout.flush()
        result = run_section(name, args.quick,
                             args.budget or SECTION_BUDGET_S.get(name, BUDGET_S)[args.quick])
        results[name] = result
        if "error" in result:
            print(f"[{name}] failed: {result['error']}")
            failed.append(name)
        print(flush=True)
    rows = targets(results)
    results["summary"] = [r.as_dict() for r in rows]
    results["total_wall_s"] = round(time.monotonic() - t0, 1)
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]  # type: ignore[index]
    if rows:
        print(summary_rows(rows))
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\n{len(chosen)} section(s) in {results['total_wall_s']} s; results written to {out}")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
