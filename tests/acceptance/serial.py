"""CFEngine's serial server tests (16_cf-serverd, 22_cf-runagent) against vigil's serverd.

The suite's runner (``../shared/cfengine-acceptance/run_acceptance.py``) skips the
``serial`` and ``network`` test types, as CFEngine's ``testall`` does by default. This
driver imports the runner from its path (it is never copied), enables those two types
for the run, and runs the server tests in up to three configurations:

``a``  real cf-agent, real cf-serverd and cf-runagent: the reference (what 3.21 passes here)
``b``  real cf-agent, vigil's serverd as ``cf-serverd`` (every other helper real)
``c``  vigil's agent as ``cf-agent``, vigil's serverd and runagent under CFEngine's names

vigil runs under CFEngine's names through ``vigil cfnames`` scripts, so the tests'
``$(sys.cf_serverd) -Kf CONFIG`` start vigil's serverd and their ``processes:`` promise
that stops the server finds it by its command line. The ``network`` tests run too: the
only one copies from this host's own LAN address, so it stays on this machine. Tests run
one at a time (each server takes a fixed port).

``python -m tests.acceptance.serial [--config abc] [--only REGEX]`` prints each
configuration's pass count and a per-test table; where the suite is absent, as on a
user's machine, it is skipped with exit 0.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from tests.cfhost import CF_BINDIR

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT.parent / "shared" / "cfengine-acceptance"
AREAS = r"^(\./)?(16_cf-serverd|22_cf-runagent)/serial/"
HELPERS = ("cf-promises", "cf-serverd", "cf-execd", "cf-key", "cf-secret", "cf-net",
           "cf-check", "cf-runagent")
CONFIGS = {
    "a": "real cf-agent + real cf-serverd/cf-runagent",
    "b": "real cf-agent + vigil serverd as cf-serverd",
    "c": "vigil agent + vigil serverd + vigil runagent",
}
# the helpers vigil stands in for, per configuration
VIGIL_HELPERS = {"a": (), "b": ("cf-serverd",), "c": ("cf-serverd", "cf-runagent")}


def load_runner(suite: Path) -> ModuleType:
    """The suite's runner module, with the serial and network test types enabled."""
    spec = importlib.util.spec_from_file_location("cf_run_acceptance", suite / "run_acceptance.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ENABLED_TYPES = set(module.ENABLED_TYPES) | {"serial", "network"}
    env_for = module.Runner.env_for

    def env_with_serial(self: object, workdir: str) -> dict[str, str]:
        env: dict[str, str] = env_for(self, workdir)
        env.update(SERIAL_TESTS="1", NETWORK_TESTS="1")
        return env

    module.Runner.env_for = env_with_serial
    return module


def make_bindir(where: Path, config: str, shims: Path, cf_bindir: Path) -> Path:
    """A bindir of the real helpers, with vigil's scripts in place of the ones it stands in for."""
    bindir = where / f"bin-{config}"
    bindir.mkdir(parents=True, exist_ok=True)
    for name in HELPERS:
        link = bindir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        target = shims / name if name in VIGIL_HELPERS[config] else cf_bindir / name
        if target.exists():
            link.symlink_to(target)
    return bindir


def run_config(runner: ModuleType, config: str, only: str, work: Path, shims: Path,
               cf_bindir: Path, timeout: float, keep: bool = False) -> list[dict[str, object]]:
    bindir = make_bindir(work, config, shims, cf_bindir)
    agent = str(shims / "cf-agent") if config == "c" else str(cf_bindir / "cf-agent")
    out = work / f"serial-{config}.json"
    argv = ["--agent", agent, "--label", f"vigil-serial-{config}", "--out", str(out),
            "--only", only, "--jobs", "1", "--timeout", str(timeout),
            "--cf-bindir", str(bindir), "--base-workdir", str(work / f"run-{config}")]
    argv += ["--no-clean"] if keep else []
    print(f"== ({config}) {CONFIGS[config]}", flush=True)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        runner.main(argv)
    for line in log.getvalue().splitlines():
        if line.startswith("[") or line.endswith(("passed, 0 failed",)) or " passed, " in line:
            print(line, flush=True)
    results: list[dict[str, object]] = json.loads(out.read_text())
    return results


def table(runs: dict[str, list[dict[str, object]]]) -> str:
    """One line per test: its result in each configuration, then counts."""
    configs = sorted(runs)
    by_test: dict[str, dict[str, str]] = {}
    for config, results in runs.items():
        for r in results:
            by_test.setdefault(str(r["test"]), {})[config] = str(r["result"])
    lines = ["  ".join(f"{c:5}" for c in configs) + "  test"]
    for test in sorted(by_test, key=str.encode):
        lines.append("  ".join(f"{by_test[test].get(c, '-'):5}" for c in configs) + f"  {test}")
    lines.append("")
    for c in configs:
        passed = sum(1 for r in runs[c] if r["result"] == "Pass")
        lines.append(f"({c}) {CONFIGS[c]}: {passed}/{len(runs[c])} passed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="abc", help="configurations to run, of a, b, c")
    ap.add_argument("--only", default=AREAS, help="regex of test paths (within the server areas)")
    ap.add_argument("--suite", type=Path, default=SUITE)
    ap.add_argument("--cf-bindir", type=Path, default=CF_BINDIR,
                    help="where CFEngine's programs are (default: where cf-agent is installed)")
    ap.add_argument("--work", type=Path, default=None,
                    help="where bindirs, workdirs and results go (default: a temp dir, kept)")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--keep", action="store_true", help="keep every test's workdir, passed too")
    args = ap.parse_args(argv)
    if not (args.suite / "run_acceptance.py").exists():
        print(f"skipped: no acceptance suite at {args.suite}")
        return 0
    if args.cf_bindir is None or not (args.cf_bindir / "cf-agent").exists():
        print(f"skipped: no cf-agent in {args.cf_bindir or 'PATH'}")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="vigil-serial-"))
    work.mkdir(parents=True, exist_ok=True)
    shims = work / "cfnames"
    vigil = shutil.which("vigil", path=str(Path(sys.executable).parent)) or "vigil"
    subprocess.run([vigil, "cfnames", str(shims), "--python", sys.executable], check=True,
                   stdout=subprocess.DEVNULL)
    only = args.only if args.only == AREAS else f"^(?={AREAS[1:]}).*(?:{args.only})"
    runner = load_runner(args.suite)
    runs = {c: run_config(runner, c, only, work, shims, args.cf_bindir, args.timeout, args.keep)
            for c in args.config if c in CONFIGS}
    print()
    print(table(runs))
    print(f"\nresults and kept workdirs: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
