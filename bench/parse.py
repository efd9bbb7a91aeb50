"""`vigil promises` beside `cf-promises` on the same inputs.

Inputs: CFEngine's masterfiles (promises.cf and every file its inputs pull in), when
installed, and a generated policy of N `files` promises
(`"$(sys.workdir)/nfiles/f00042" create => "true", touch => "true";`). vigil runs twice,
with `--syntax-only` (parse and follow inputs) and with validation; cf-promises runs
its default check. Wall time (median and min of 3) and peak RSS come from wait4 on
each child. Target: vigil within 3x of cf-promises. Sizes: 1,000 and 10,000 (1,000 alone with --quick).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from bench._harness import PYTHON, Sample, summarise, table, timed
from tests.cfhost import HAVE_CFENGINE, cf_env, make_workdir

MASTERFILES = Path("/var/lib/cfengine3/masterfiles")


def generated(n: int) -> str:
    lines = ["bundle agent main", "{", "  files:"]
    lines += [
        f'    "$(sys.workdir)/nfiles/f{i:05d}" create => "true", touch => "true";' for i in range(n)
    ]
    return "\n".join([*lines, "}", ""])


_SIZE = """
import sys
from pathlib import Path
from engine.eval.loading import load as load_policy
files = [Path(f.path) for f in load_policy(sys.argv[1], sys.argv[2]).policy.files]
print(sum(len(f.read_text(errors="replace").splitlines()) for f in files), len(files))
"""


def _size(entry: Path, workdir: Path) -> tuple[int, int]:
    """(lines, files) of the policy as vigil loads it, counted in a child process: a
    big heap here would be inherited by every timed child and inflate its peak RSS."""
    out = subprocess.run(
        [PYTHON, "-c", _SIZE, str(entry), str(workdir)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1])


def _runs(cmd: list[str], reps: int, env: dict[str, str] | None = None) -> list[Sample]:
    out = []
    for _ in range(reps):
        s = timed(cmd, env=env)
        if s.rc not in (0, 1):
            raise RuntimeError(f"{cmd[:4]}... exited {s.rc}")
        out.append(s)
    return out


def main(quick: bool = False) -> dict:
    reps = 1 if quick else 3
    sizes = (1000,) if quick else (1000, 10_000)
    tmp = Path(tempfile.mkdtemp(prefix="bench-parse-"))
    results: dict[str, dict] = {}
    rows = []
    try:
        vigil_wd = tmp / "vigil-wd"
        vigil_wd.mkdir()
        cf_wd = make_workdir(tmp / "cf-wd", keys=None, failsafe=None) if HAVE_CFENGINE else None
        inputs: dict[str, Path] = {}
        for n in sizes:
            gen = tmp / f"n{n}.cf"
            gen.write_text(generated(n))
            inputs[f"{n} promises"] = gen
        if MASTERFILES.is_dir():
            inputs = {"masterfiles": MASTERFILES / "promises.cf", **inputs}
        for name, entry in inputs.items():
            base = [PYTHON, "-m", "engine", "promises", "-q", "-f", str(entry), "-w", str(vigil_wd)]
            syn = summarise(_runs([*base, "--syntax-only"], reps))
            full = summarise(_runs(base, reps))
            cf = None
            if cf_wd is not None:
                cf = summarise(_runs(["cf-promises", "-f", str(entry)], reps, cf_env(cf_wd)))
            lines, files = _size(entry, vigil_wd)
            entry_result = {
                "lines": lines,
                "files": files,
                "vigil_syntax_only": syn.as_dict(),
                "vigil_validate": full.as_dict(),
                "cf_promises": cf.as_dict() if cf else None,
                "ratio_syntax_only": round(syn.median / cf.median, 2) if cf else None,
                "ratio_validate": round(full.median / cf.median, 2) if cf else None,
            }
            results[name] = entry_result
            for label, st in (
                ("vigil --syntax-only", syn),
                ("vigil (validate)", full),
                ("cf-promises", cf),
            ):
                if st is None:
                    continue
                ratio = f"{st.median / cf.median:.2f}" if cf else "—"
                rows.append(
                    [
                        name,
                        lines,
                        files,
                        label,
                        f"{st.median:.3f} / {st.minimum:.3f}",
                        f"{st.rss_kb / 1024:.1f}",
                        ratio,
                    ]
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        table(
            f"parse: vigil promises vs cf-promises (median / min of {reps}, seconds; peak RSS MB)",
            ["input", "lines", "files", "tool", "wall s", "RSS MB", "x cf"],
            rows,
        )
    )
    return results


if __name__ == "__main__":
    main()
