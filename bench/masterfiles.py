"""Masterfiles parity: cf-agent and vigil side by side on Debian's stock masterfiles.

``python -m bench.masterfiles [--masterfiles DIR] [--keep]`` copies the masterfiles to a
temporary directory (the installed copy is never touched), runs ``cf-agent -n -K`` and
``vigil agent -n -K`` on the copy with ``--show-evaluated-classes`` and
``--show-evaluated-vars``, each in its own temporary workdir, and prints the names only
one side defines, the ratios and the ``error:`` lines. tests/engine/test_masterfiles_parity.py
asserts the ratios with its allow-list of differences that are right by design.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.cfhost import HAVE_CFENGINE, cf_env, make_workdir

ROOT = Path(__file__).resolve().parent.parent
VIGIL = ROOT / ".venv" / "bin" / "vigil"
MASTERFILES_CANDIDATES = (Path("/var/lib/cfengine3/masterfiles"), Path("/usr/share/cfengine3/masterfiles"))
TIMEOUT_S = 300

_LOG_LINE = re.compile(r"^\s*(error|warning|notice|info|verbose|debug|critical|alert|emergency):")
# A variable's name: ns:bundle.name, then any number of [key] (keys may hold spaces).
_VAR_NAME = re.compile(r"^([\w.-]+:[\w.-]+\.[\w-]+(?:\[[^\]\n]*\])*)")
_CLASS_NAME = re.compile(r"^(\S+)")


def find_masterfiles() -> Path | None:
    """The installed masterfiles (Debian's cfengine3 package), or None."""
    for cand in MASTERFILES_CANDIDATES:
        if (cand / "promises.cf").is_file():
            return cand
    return None


def have_tools() -> bool:
    return HAVE_CFENGINE and VIGIL.exists()


def cf_workdir(parent: Path) -> Path:
    """A cf-agent workdir with keys of its own and an inert failsafe (a failing run starts
    nothing)."""
    return make_workdir(Path(tempfile.mkdtemp(prefix="cfw-", dir=parent)), keys="own")


def kill_strays(workdir: Path) -> list[int]:
    """Kill (by pid) any process whose environment or command line names ``workdir``."""
    killed: list[int] = []
    needle = str(workdir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "environ").read_bytes() + (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in blob:
            try:
                os.kill(int(entry.name), 15)
                killed.append(int(entry.name))
            except OSError:
                pass
    return killed


def parse_names(text: str, kind: str) -> set[str]:
    """Class or variable names from ``--show-evaluated-classes``/``-vars`` output."""
    pattern = _VAR_NAME if kind == "vars" else _CLASS_NAME
    header = "Variable name" if kind == "vars" else "Class name"
    names: set[str] = set()
    started = False
    for line in text.splitlines():
        if line.startswith(header):
            started = True
            continue
        if not started or _LOG_LINE.match(line) or line.startswith("R: "):
            continue
        m = pattern.match(line)
        if m:
            names.add(m.group(1))
    return names


def error_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if re.match(r"^\s*error:", line)]


@dataclass
class Side:
    """One agent's view of the masterfiles run."""

    classes: set[str] = field(default_factory=set)
    vars: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)  # from the classes run
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Parity:
    cf: Side
    vigil: Side

    def missing(self, kind: str) -> set[str]:
        return getattr(self.cf, kind) - getattr(self.vigil, kind)

    def extra(self, kind: str) -> set[str]:
        return getattr(self.vigil, kind) - getattr(self.cf, kind)

    def ratio(self, kind: str, allowed: Iterable[str] = ()) -> float:
        """Share of cf-agent's names vigil defines; ``allowed`` patterns count as defined."""
        ref = getattr(self.cf, kind)
        if not ref:
            return 1.0
        pats = [re.compile(p) for p in allowed]
        ok = sum(1 for n in ref if n in getattr(self.vigil, kind) or any(p.fullmatch(n) for p in pats))
        return ok / len(ref)


def _run(cmd: list[str], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace",
                          timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    return proc.stdout + proc.stderr


def measure(masterfiles: Path, scratch: Path) -> Parity:
    """Copy ``masterfiles`` under ``scratch`` and run both agents on the copy."""
    copy = scratch / "masterfiles"
    shutil.copytree(masterfiles, copy, symlinks=True)
    entry = str(copy / "promises.cf")
    cfw = cf_workdir(scratch)
    vw = Path(tempfile.mkdtemp(prefix="vw-", dir=scratch))
    # a host key on both sides, as cf-key made one for cf-agent (sys.key_digest, PK_*)
    subprocess.run([str(VIGIL), "key", "-w", str(vw)], capture_output=True, timeout=60,
                   stdin=subprocess.DEVNULL)
    cf, vg = Side(), Side()
    try:
        for kind in ("classes", "vars"):
            flag = f"--show-evaluated-{kind}"
            out = _run(["cf-agent", "-n", "-K", "-f", entry, flag], env=cf_env(cfw))
            cf.outputs[kind] = out
            setattr(cf, kind, parse_names(out, kind))
            out = _run([str(VIGIL), "agent", "-w", str(vw), "-n", "-K", "-f", entry, flag])
            vg.outputs[kind] = out
            setattr(vg, kind, parse_names(out, kind))
    finally:
        kill_strays(cfw)
        kill_strays(vw)
    cf.errors = error_lines(cf.outputs["classes"])
    vg.errors = error_lines(vg.outputs["classes"])
    return Parity(cf, vg)


def report(p: Parity) -> str:
    out: list[str] = []
    for kind in ("classes", "vars"):
        ref, ours = getattr(p.cf, kind), getattr(p.vigil, kind)
        out.append(f"{kind}: cf-agent {len(ref)}, vigil {len(ours)}, both {len(ref & ours)} "
                   f"({100 * p.ratio(kind):.1f}% of cf-agent's)")
        out.append("  only cf-agent: " + " ".join(sorted(p.missing(kind))))
        out.append("  only vigil:    " + " ".join(sorted(p.extra(kind))))
    out.append(f"error: lines: cf-agent {len(p.cf.errors)}, vigil {len(p.vigil.errors)}")
    out += [f"  cf-agent {e}" for e in p.cf.errors] + [f"  vigil    {e}" for e in p.vigil.errors]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.masterfiles", description=__doc__.splitlines()[0])
    ap.add_argument("--masterfiles", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory and print its path")
    args = ap.parse_args(argv)
    mf = args.masterfiles or find_masterfiles()
    if mf is None or not have_tools():
        print("cf-agent, cf-key, vigil or the masterfiles are missing", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="mfparity-"))
    try:
        p = measure(mf, scratch)
        print(report(p))
        if args.keep:
            for side, name in ((p.cf, "cf"), (p.vigil, "vigil")):
                for kind, text in side.outputs.items():
                    (scratch / f"{name}_{kind}.out").write_text(text)
            print(f"kept: {scratch}")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
