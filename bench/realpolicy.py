"""Real policy: Debian's stock masterfiles under `vigil agent` and `cf-agent`, same run.

Two ways, each agent in a fresh temporary workdir per way and on a private copy of the
masterfiles (the installed copy is never touched):

- ``dry``: ``agent -n -K -f promises.cf``, what an admin runs to see what would change;
- ``full``: ``agent -K -f promises.cf``, a real run. Masterfiles manages the machine, so
  it runs only in a private mount namespace where ``/`` is read-only and only ``/tmp``
  is writable (root and ``unshare`` needed; skipped otherwise). Processes a run leaves
  behind (masterfiles starts daemons) are ended by pid afterwards.

The two agents' runs are taken in turn (vigil, cf-agent, vigil, ...), so a burst of
other work on the machine slows both rather than one agent's whole series.

The second and later runs of vigil rebuild unchanged files from its parse cache
(``state/policy_cache``), as a scheduled agent does; so the first repetition of each
workdir is a cold start and is reported apart.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
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
    summarise,
    table,
    timed,
)
from tests.cfhost import HAVE_CFENGINE, cf_env

MASTERFILES = (Path("/var/lib/cfengine3/masterfiles"), Path("/usr/share/cfengine3/masterfiles"))
SANDBOX = 'mount --bind /tmp /tmp && mount -o remount,bind,ro / && exec "$@"'
# exit codes a run of stock masterfiles may end with on a machine that is not a hub
OK_CODES = (0, 1)


def find_masterfiles() -> Path | None:
    return next((p for p in MASTERFILES if (p / "promises.cf").is_file()), None)


def can_sandbox() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def _sandboxed(cmd: list[str]) -> list[str]:
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", SANDBOX, "sandbox", *cmd]


def _end_leftovers(marker: str) -> None:
    """End processes whose command line or environment names ``marker`` (a temp dir)."""
    me = os.getpid()
    for pid_s in os.listdir("/proc"):
        if not pid_s.isdigit() or int(pid_s) == me:
            continue
        try:
            cmdline = Path(f"/proc/{pid_s}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid_s}/environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline or marker.encode() in environ:
            with contextlib.suppress(OSError):
                os.kill(int(pid_s), signal.SIGKILL)


def _vigil_cmd(policy: Path, mode: str, wd: Path) -> list[str]:
    flags = ["-n", "-K"] if mode == "dry" else ["-K"]
    cmd = [PYTHON, "-m", "engine", "agent", "-w", str(wd), *flags, "-f", str(policy)]
    return _sandboxed(cmd) if mode == "full" else cmd


def _cf_cmd(policy: Path, mode: str) -> list[str]:
    flags = ["-n", "-K"] if mode == "dry" else ["-K"]
    cmd = ["cf-agent", *flags, "-f", str(policy)]
    return _sandboxed(cmd) if mode == "full" else cmd


def _checked(who: str, mode: str, s: Sample) -> Sample:
    if s.rc not in OK_CODES:
        raise BenchError(f"{who} {mode} run exited {s.rc}: {s.err.strip()[-500:]}")
    return s


def _runs(policy: Path, mode: str, reps: int, tmp: Path,
          with_cf: bool) -> tuple[list[Sample], list[Sample]]:
    """vigil's cold run, then ``reps`` warm runs of each agent taken in turn (vigil,
    cf-agent, vigil, ...), so that a burst of other work on the machine slows both
    and not one agent's whole series; each in its own workdir."""
    vwd = Path(tempfile.mkdtemp(prefix="bench-vrp-", dir=tmp))
    cwd = cfengine_workdir() if with_cf else None  # an inert failsafe: a failing run starts nothing
    here = str(Path(__file__).resolve().parent.parent)
    vigil_cmd = _vigil_cmd(policy, mode, vwd)
    ours = [_checked("vigil", mode, timed(vigil_cmd, cwd=here))]
    theirs: list[Sample] = []
    try:
        for _ in range(reps):
            ours.append(_checked("vigil", mode, timed(vigil_cmd, cwd=here)))
            if cwd is not None:
                theirs.append(_checked("cf-agent", mode,
                                       timed(_cf_cmd(policy, mode), env=cf_env(cwd))))
    finally:
        _end_leftovers(str(vwd))
        if cwd is not None:
            _end_leftovers(str(cwd))
            shutil.rmtree(cwd, ignore_errors=True)
    return ours, theirs


def main(quick: bool = False) -> dict:
    """{mode: {vigil, vigil_cold, cfengine, ratio, rss_ratio}} for mode in dry, full."""
    src = find_masterfiles()
    if src is None:
        print("realpolicy: skipped, no stock masterfiles (apt-get install cfengine3)")
        return {}
    reps = 2 if quick else 5
    tmp = Path(tempfile.mkdtemp(prefix="bench-realpolicy-", dir="/tmp"))
    results: dict[str, dict] = {}
    rows = []
    try:
        copy = tmp / "masterfiles"
        shutil.copytree(src, copy, symlinks=True)
        policy = copy / "promises.cf"
        modes = ["dry"] + (["full"] if can_sandbox() else [])
        for mode in modes:
            v_all, c_all = _runs(policy, mode, reps, tmp, HAVE_CFENGINE)
            cold, warm = summarise(v_all[:1]), summarise(v_all[1:])
            c = summarise(c_all) if c_all else None
            results[mode] = {
                "vigil": warm.as_dict(), "vigil_cold": cold.as_dict(),
                "cfengine": c.as_dict() if c else None,
                "ratio": round(warm.median / c.median, 3) if c else None,
                "rss_ratio": round(warm.rss_kb / c.rss_kb, 3) if c else None,
            }
            rows.append([mode, med_min(warm), med_min(cold), med_min(c),
                         ratio(warm.median, c.median if c else None), mb(warm.rss_kb),
                         mb(c.rss_kb) if c else "—", ratio(warm.rss_kb, c.rss_kb if c else None)])
        if "full" not in modes:
            print("realpolicy: the full run needs root and unshare(1) for its sandbox; skipped")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(
        f"real policy: stock masterfiles, vigil agent vs cf-agent (wall s median / min of {reps}; "
        "vigil cold = first run of a workdir; peak RSS MB)",
        ["run", "vigil s", "vigil cold s", "cf-agent s", "x cf", "vigil MB", "cf-agent MB",
         "MB x cf"], rows))
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
