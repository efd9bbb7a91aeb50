"""Run CFEngine's acceptance suite against vigil and hold the line on what passes.

``python -m tests.acceptance.ratchet`` runs ``../shared/cfengine-acceptance/run_acceptance.py``
on the tests cf-agent 3.21 passes (its baseline list), then compares the results with
``tests/acceptance-expected.txt``: every test listed there must still pass. Tests that
newly pass are reported; ``--update`` adds them to the list (the list only grows).
Where the suite is absent, as on a user's machine, the run is skipped with exit 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT.parent / "shared" / "cfengine-acceptance"
EXPECTED = ROOT / "tests" / "acceptance-expected.txt"


def read_expected(path: Path) -> set[str]:
    """The test names in ``path`` (``#`` comments and blank lines ignored)."""
    if not path.exists():
        return set()
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line)
    return names


def write_expected(path: Path, names: set[str]) -> None:
    header = ("# Baseline acceptance tests vigil passes; CI fails if any of them fails.\n"
              "# Grown by `python -m tests.acceptance.ratchet --update`; never shrunk.\n")
    path.write_text(header + "".join(f"{n}\n" for n in sorted(names, key=str.encode)))


def compare(results: list[dict[str, object]], expected: set[str]) -> tuple[list[str], list[str]]:
    """(expected tests that did not pass, tests that pass but are not expected yet)."""
    passed = {str(r["test"]) for r in results if r.get("result") == "Pass"}
    ran = {str(r["test"]) for r in results}
    regressed = sorted(t for t in expected if t in ran and t not in passed)
    regressed += sorted(t for t in expected if t not in ran)
    new = sorted(passed - expected)
    return regressed, new


def rates(results: list[dict[str, object]]) -> dict[str, tuple[int, int]]:
    """Pass count and total per top directory."""
    total: Counter[str] = Counter()
    ok: Counter[str] = Counter()
    for r in results:
        parts = str(r["test"]).split("/")
        top = parts[1] if len(parts) > 2 else "."
        total[top] += 1
        ok[top] += r.get("result") == "Pass"
    return {d: (ok[d], total[d]) for d in sorted(total)}


def drop_in_agent(bindir: Path) -> str:
    """``bindir/cf-agent`` as ``vigil cfnames`` writes it: the suite runs the agent as a
    CFEngine host runs it, under the name cf-agent (a few tests look for that process)."""
    vigil = ROOT / ".venv" / "bin" / "vigil"
    cmd = [str(vigil)] if vigil.exists() else [sys.executable, "-m", "engine"]
    subprocess.run([*cmd, "cfnames", str(bindir)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return str(bindir / "cf-agent")


def run_suite(agent: str, out: Path, jobs: int, only: str | None, log: Path) -> int:
    cmd = [sys.executable, str(SUITE / "run_acceptance.py"), "--agent", agent,
           "--label", "vigil-ratchet", "--out", str(out), "--jobs", str(jobs),
           "--baseline", str(SUITE / "baseline-cf-3.21.txt"), "--baseline-only"]
    if only:
        cmd += ["--only", only]
    with log.open("w") as fh:
        return subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT).returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", default=None,
                    help="the agent command (default: vigil's agent under the name cf-agent, "
                         "as 'vigil cfnames' installs it for a drop-in host; "
                         "e.g. '.venv/bin/vigil agent' runs it as vigil)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--only", help="regex: run only matching tests (no regression check "
                    "for the others)")
    ap.add_argument("--results", type=Path, help="judge this results JSON instead of running")
    ap.add_argument("--out", type=Path, default=ROOT / "acceptance-results.json")
    ap.add_argument("--update", action="store_true",
                    help="add the tests that newly pass to tests/acceptance-expected.txt")
    args = ap.parse_args(argv)

    if args.results is None:
        if not (SUITE / "run_acceptance.py").exists():
            print(f"acceptance: skipped, {SUITE} is not present (it is test data beside the "
                  "project, not part of it)")
            return 0
        if args.agent is None:
            args.agent = drop_in_agent(args.out.parent / ".acceptance-bin")
        log = args.out.with_suffix(".log")
        print(f"acceptance: running the baseline tests with {args.agent!r}; log in {log}",
              flush=True)
        rc = run_suite(args.agent, args.out, args.jobs, args.only, log)
        if rc != 0 or not args.out.exists():
            print(f"acceptance: the runner failed (exit {rc}); see {log}")
            return 2
    results = json.loads(args.out.read_text() if args.results is None
                         else args.results.read_text())
    if isinstance(results, dict):
        results = results.get("results", [])
    expected = read_expected(EXPECTED)
    if args.only:
        ran = {str(r["test"]) for r in results}
        expected &= ran
    regressed, new = compare(results, expected)
    per_dir = rates(results)
    passed = sum(p for p, _ in per_dir.values())
    total = sum(n for _, n in per_dir.values())
    for d, (p, n) in per_dir.items():
        print(f"  {d:<26} {p:5d}/{n:<5d} {100.0 * p / n:6.1f}%")
    print(f"acceptance: {passed} of {total} baseline tests pass "
          f"({100.0 * passed / total if total else 0:.1f}%)")
    if new:
        print(f"acceptance: {len(new)} newly passing test(s) not yet in {EXPECTED.name}:")
        for t in new:
            print(f"  + {t}")
        if args.update:
            write_expected(EXPECTED, read_expected(EXPECTED) | set(new))
            print(f"acceptance: added them to {EXPECTED.relative_to(ROOT)}")
    if regressed:
        print(f"acceptance: {len(regressed)} test(s) listed in {EXPECTED.name} no longer pass:")
        for t in regressed:
            reason = next((str(r.get("reason", "")) for r in results if r["test"] == t),
                          "not run")
            print(f"  - {t}  {reason}")
    print(f"{len(expected) - len(regressed)} passed, {len(regressed)} failed")
    return 1 if regressed else 0


if __name__ == "__main__":
    sys.exit(main())
