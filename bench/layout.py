"""`python -m bench.layout [--before REV]` — the shape of the code, now and at REV.

Prints, side by side for the working tree and (with ``--before``) a git revision checked
out into a temporary worktree: lines per package, the longest functions, import loops
between modules (counting imports under ``TYPE_CHECKING``), ``importlib`` and
``except ImportError`` sites, definitions of the primitives that should have one owner,
and the start-up time of a trivial policy (``python -m engine agent -K``: medians of 7, wall and CPU).
Nothing here is a pass/fail target; the architecture rules themselves are asserted by
tests/test_layers.py.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tests.importgraph import PACKAGES, graph, loops

ROOT = Path(__file__).resolve().parents[1]
PRIMITIVES = ("canonify", "atomic_write", "write_atomic", "human_duration", "format_duration",
              "RunSummary")
TRIVIAL = 'body common control { bundlesequence => { "main" }; }\nbundle agent main { reports: "hi"; }\n'


def _py_files(root: Path) -> Iterator[Path]:
    for pkg in PACKAGES:
        yield from sorted((root / pkg).rglob("*.py"))


def lines_per_package(root: Path) -> dict[str, int]:
    out: Counter[str] = Counter()
    for path in _py_files(root):
        rel = path.relative_to(root).parts
        key = "/".join(rel[:2]) if len(rel) > 2 else rel[0]
        out[key] += sum(1 for _ in path.open(encoding="utf-8", errors="replace"))
    return dict(sorted(out.items()))


def longest_functions(root: Path, n: int = 8) -> list[tuple[int, str]]:
    found = []
    for path in _py_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
                found.append((node.end_lineno - node.lineno + 1,
                              f"{path.relative_to(root)}:{node.lineno} {node.name}"))
    return sorted(found, reverse=True)[:n]


def import_loops(root: Path) -> list[list[str]]:
    """The loops of the import graph tests/test_layers.py checks, for the tree at ``root``."""
    return sorted(sorted(loop) for loop in loops(graph(root)))


def grep_count(root: Path, needle: str) -> int:
    return sum(path.read_text(encoding="utf-8", errors="replace").count(needle)
               for path in _py_files(root))


def definitions(root: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {p: [] for p in PRIMITIVES}
    for path in _py_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in out:
                out[node.name].append(f"{path.relative_to(root)}:{node.lineno}")
    return out


def startup_ms(root: Path, runs: int = 7) -> tuple[float, float]:
    """Median wall and CPU (user + system) milliseconds of a trivial run."""
    with tempfile.TemporaryDirectory(prefix="vigil-layout-") as tmp:
        policy = Path(tmp) / "p.cf"
        policy.write_text(TRIVIAL)
        env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="")
        cmd = [sys.executable, "-m", "engine", "agent", "-K", "-w", str(Path(tmp) / "wd"),
               "-f", str(policy)]
        where = subprocess.run([sys.executable, "-c", "import engine; print(engine.__file__)"],
                               cwd=root, env=env, capture_output=True, text=True).stdout.strip()
        if not where.startswith(str(root)):
            raise RuntimeError(f"PYTHONPATH={root} imported {where}: figures would be wrong")
        warm = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=60)
        if "R: hi" not in warm.stdout:
            raise RuntimeError(f"the trivial policy did not run at {root}: {warm.stderr[-500:]}")
        walls, cpus = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            _pid, _status, usage = os.wait4(proc.pid, 0)
            proc.returncode = 0  # reaped here
            walls.append(time.perf_counter() - t0)
            cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="vigil-layout-rev-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(tmp), rev], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        yield tmp
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tmp)], cwd=ROOT,
                       capture_output=True)


def figures(root: Path) -> dict[str, object]:
    return {
        "lines": lines_per_package(root),
        "longest": longest_functions(root),
        "loops": import_loops(root),
        "importlib": grep_count(root, "import importlib"),
        "except_importerror": grep_count(root, "except ImportError"),
        "definitions": definitions(root),
        "startup_ms": startup_ms(root),
    }


def _print(label: str, f: dict[str, object]) -> None:
    print(f"== {label}")
    lines = f["lines"]
    assert isinstance(lines, dict)
    print(f"  lines: {sum(lines.values())} in all")
    for pkg, n in lines.items():
        print(f"    {pkg:<28} {n:6d}")
    print("  longest functions:")
    for n, where in f["longest"]:  # type: ignore[attr-defined]
        print(f"    {n:4d}  {where}")
    loops = f["loops"]
    assert isinstance(loops, list)
    print(f"  import loops: {len(loops)}")
    for loop in loops:
        print(f"    {' <-> '.join(loop)}")
    print(f"  'import importlib': {f['importlib']}   'except ImportError': {f['except_importerror']}")
    defs = f["definitions"]
    assert isinstance(defs, dict)
    print("  definitions: " + ", ".join(f"{k} {len(v)}" for k, v in defs.items()))
    wall, cpu = f["startup_ms"]  # type: ignore[misc]
    print(f"  trivial policy start-up: {wall:.0f} ms wall, {cpu:.0f} ms CPU (medians of 7)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", metavar="REV", help="also measure this git revision")
    args = ap.parse_args()
    if args.before:
        with checkout(args.before) as old:
            _print(f"before ({args.before})", figures(old))
    _print("now (working tree)", figures(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
