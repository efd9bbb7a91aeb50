"""`vigil agent` beside `cf-agent` on the same policies, in the same run.

Scenarios: a trivial policy, twenty mixed promises, N reports, and N `files`
promises (create + touch) run three ways in one workdir: first run, an
immediate second run (everything locked), and a `-K` run. Wall time and peak
RSS come from wait4 on the child.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from bench._harness import (
    PYTHON,
    BenchError,
    Sample,
    cfengine_workdir,
    mb,
    med_min,
    ratio,
    repeat,
    summarise,
    table,
)
from tests.cfhost import HAVE_CFENGINE, cf_env

PHASES = ("first", "second", "second_K")

TWENTY = """
bundle agent __main__
{
  vars:
      "names" slist => { "s1", "s2", "s3" };
      "greeting" string => "hello";
  classes:
      "have_workdir" expression => fileexists("$(sys.workdir)");
  files:
      "$(sys.workdir)/twenty/." create => "true";
      "$(sys.workdir)/twenty/f1" create => "true", touch => "true";
      "$(sys.workdir)/twenty/f2" create => "true", touch => "true";
      "$(sys.workdir)/twenty/f3" create => "true", perms => m644;
      "$(sys.workdir)/twenty/f4" create => "true", perms => m644;
      "$(sys.workdir)/twenty/f5" create => "true";
      "$(sys.workdir)/twenty/f6" create => "true";
      "$(sys.workdir)/twenty/f7" create => "true", touch => "true";
      "$(sys.workdir)/twenty/f8" create => "true";
      "$(sys.workdir)/twenty/$(names)" create => "true";
  commands:
      "/bin/echo cmd-ran" contain => shell;
      "/bin/true";
  processes:
      "nonexistent_daemon_xyz" restart_class => "xyz_missing";
  reports:
      "$(greeting) one";
      "$(greeting) two";
    have_workdir::
      "workdir exists";
    xyz_missing::
      "daemon missing";
}
body perms m644 { mode => "644"; }
body contain shell { useshell => "useshell"; }
"""


def _policies(tmp: Path, quick: bool) -> dict[str, Path]:
    out: dict[str, Path] = {}
    (tmp / "trivial.cf").write_text('bundle agent __main__ { reports: "hello"; }\n')
    out["trivial"] = tmp / "trivial.cf"
    (tmp / "twenty.cf").write_text(TWENTY)
    out["twenty"] = tmp / "twenty.cf"
    for n in (1000,) if quick else (1000, 10000):
        p = tmp / f"r{n}.cf"
        p.write_text("bundle agent __main__\n{\n  reports:\n"
                     + "".join(f'      "report line {i:05d}";\n' for i in range(n)) + "}\n")
        out[f"reports_{n}"] = p
    for n in (100, 1000) if quick else (100, 1000, 10000):
        p = tmp / f"n{n}.cf"
        p.write_text("bundle agent __main__\n{\n  files:\n" + "".join(
            f'      "$(sys.workdir)/nfiles/f{i:05d}" create => "true", touch => "true";\n'
            for i in range(n)) + "}\n")
        out[f"files_{n}"] = p
    return out


def _count_created(wd: Path, name: str) -> None:
    """A files_N scenario must have created N files; a run that did nothing is no benchmark."""
    if not name.startswith("files_"):
        return
    want = int(name.split("_")[1])
    got = sum(1 for _ in (wd / "nfiles").iterdir()) if (wd / "nfiles").is_dir() else 0
    if got != want:
        raise BenchError(f"{name}: expected {want} files in {wd / 'nfiles'}, found {got}")


def _three_runs(base: list[str], wd: Path, name: str, env: dict[str, str] | None,
                res: dict[str, list[Sample]]) -> None:
    """First run, immediate second run (locked), then a -K run, in one workdir."""
    res["first"] += repeat(base, 1, env=env)
    _count_created(wd, name)
    res["second"] += repeat(base, 1, env=env)
    res["second_K"] += repeat([*base, "-K"], 1, env=env)


def _vigil_rep(name: str, policy: Path, res: dict[str, list[Sample]]) -> None:
    wd = Path(tempfile.mkdtemp(prefix="bench-vigil-"))
    try:
        base = [PYTHON, "-m", "engine", "agent", "-f", str(policy), "-w", str(wd)]
        _three_runs(base, wd, name, None, res)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def _cf_rep(name: str, policy: Path, res: dict[str, list[Sample]]) -> None:
    wd = cfengine_workdir()
    try:
        _three_runs(["cf-agent", "-f", str(policy)], wd, name, cf_env(wd), res)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def _runs(name: str, policy: Path, reps: int, cf: bool
          ) -> tuple[dict[str, list[Sample]], dict[str, list[Sample]] | None]:
    """``reps`` repetitions of each agent, taken in turn (vigil, cf-agent, vigil, ...),
    so that a burst of other work on the machine slows both, not one agent's series."""
    ours: dict[str, list[Sample]] = {p: [] for p in PHASES}
    theirs: dict[str, list[Sample]] | None = {p: [] for p in PHASES} if cf else None
    for _ in range(reps):
        _vigil_rep(name, policy, ours)
        if theirs is not None:
            _cf_rep(name, policy, theirs)
    return ours, theirs


def main(quick: bool = False) -> dict:
    """Run every scenario; returns {scenario: {phase: {vigil, cfengine, ratio, rss_ratio}}}."""
    reps = 1 if quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    results: dict[str, dict] = {}
    rows = []
    cf = HAVE_CFENGINE
    try:
        for name, policy in _policies(tmp, quick).items():
            v, c = _runs(name, policy, reps, cf)
            entry: dict[str, dict] = {}
            for phase in PHASES:
                vs = summarise(v[phase])
                cs = summarise(c[phase]) if c else None
                entry[phase] = {
                    "vigil": vs.as_dict(),
                    "cfengine": cs.as_dict() if cs else None,
                    "ratio": round(vs.median / cs.median, 3) if cs else None,
                    "rss_ratio": round(vs.rss_kb / cs.rss_kb, 3) if cs else None,
                }
                rows.append([
                    name, phase, med_min(vs), med_min(cs), ratio(vs.median, cs.median if cs else None),
                    mb(vs.rss_kb), mb(cs.rss_kb) if cs else "—",
                    ratio(vs.rss_kb, cs.rss_kb if cs else None),
                ])
            results[name] = entry
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(
        f"agent: vigil agent vs cf-agent (wall seconds median / min of {reps}; peak RSS MB)",
        ["policy", "run", "vigil s", "cf-agent s", "x cf", "vigil MB", "cf-agent MB", "MB x cf"],
        rows,
    ))
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
