"""`python -m bench [--quick] [SECTION...]` — every benchmark, one table each, results.json.

Sections: parse, agent, daemons, serverd, console. Each module's ``main(quick)``
prints its table and returns a dict; the whole is written to bench/results.json
with a description of the machine. CI runs ``--quick`` and fails only if a
benchmark itself errors, never on a timing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

SECTIONS = ("parse", "agent", "daemons", "serverd", "console")


def machine() -> dict[str, object]:
    cf = None
    if shutil.which("cf-agent"):
        cf = subprocess.run(["cf-agent", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "cfengine": cf,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="one repetition, small sizes (< 1 min)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    ap.add_argument("sections", nargs="*", choices=[*SECTIONS, []], metavar="SECTION")
    args = ap.parse_args(argv)
    chosen = args.sections or list(SECTIONS)
    results: dict[str, object] = {"machine": machine(), "quick": args.quick}
    failed = []
    for name in chosen:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ImportError as e:
            print(f"[{name}] not available: {e}\n")
            results[name] = {"error": f"not available: {e}"}
            failed.append(name)
            continue
        try:
            results[name] = module.main(quick=args.quick)
        except Exception as e:
            traceback.print_exc()
            results[name] = {"error": repr(e)}
            failed.append(name)
        print()
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"results written to {args.out}")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
