"""`vigil agent` beside `cf-agent` on the same policies, in the same run.

Scenarios: a trivial policy, twenty mixed promises, N reports, and N `files`
promises (create + touch) run three ways in one workdir: first run, an
immediate second run (everything locked), and a `-K` run. Wall time and peak
RSS come from wait4 on the child.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bench._harness import (
    PYTHON,
    cf_env,
    cfengine_workdir,
    have_cfengine,
    ratio,
    summarise,
    table,
    timed,
)

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


def _vigil_runs(policy: Path, reps: int) -> dict[str, list]:
    res: dict[str, list] = {"first": [], "second": [], "second_K": []}
    for _ in range(reps):
        wd = Path(tempfile.mkdtemp(prefix="bench-vigil-"))
        base = [PYTHON, "-m", "engine", "agent", "-f", str(policy), "-w", str(wd)]
        res["first"].append(timed(base))
        res["second"].append(timed(base))
        res["second_K"].append(timed([*base, "-K"]))
        shutil.rmtree(wd, ignore_errors=True)
    return res


def _cf_runs(policy: Path, reps: int) -> dict[str, list]:
    res: dict[str, list] = {"first": [], "second": [], "second_K": []}
    for _ in range(reps):
        wd = cfengine_workdir()
        env = cf_env(wd)
        base = ["cf-agent", "-f", str(policy)]
        res["first"].append(timed(base, env=env))
        res["second"].append(timed(base, env=env))
        res["second_K"].append(timed([*base, "-K"], env=env))
        shutil.rmtree(wd, ignore_errors=True)
    return res


def main(quick: bool = False) -> dict:
    reps = 1 if quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    results: dict[str, dict] = {}
    rows = []
    cf = have_cfengine()
    try:
        for name, policy in _policies(tmp, quick).items():
            v = _vigil_runs(policy, reps)
            c = _cf_runs(policy, reps) if cf else None
            entry: dict[str, dict] = {}
            for phase in ("first", "second", "second_K"):
                vs = summarise(v[phase])
                cs = summarise(c[phase]) if c else None
                entry[phase] = {"vigil": vs.as_dict(), "cfengine": cs.as_dict() if cs else None,
                                "ratio": ratio(vs.median, cs.median if cs else None)}
                rows.append([
                    name, phase,
                    f"{vs.median:.3f} / {vs.minimum:.3f}", f"{vs.rss_kb / 1024:.1f}",
                    f"{cs.median:.3f} / {cs.minimum:.3f}" if cs else "—",
                    f"{cs.rss_kb / 1024:.1f}" if cs else "—",
                    ratio(vs.median, cs.median if cs else None),
                ])
            results[name] = entry
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(
        f"agent: vigil vs cf-agent (median / min of {reps}, seconds; peak RSS MB)",
        ["policy", "run", "vigil s", "vigil MB", "cf-agent s", "cf-agent MB", "ratio"],
        rows,
    ))
    return results


if __name__ == "__main__":
    main()
