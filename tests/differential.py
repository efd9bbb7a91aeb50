"""The differential harness: cf-agent and ``vigil agent`` on the same policy, each in a
temp workdir of its own, and what they printed and left behind, side by side.

Two ways in:

- :func:`run_cf`, :func:`run_vigil` and :func:`run_both` run a policy file and return a
  :class:`Run` (exit code, stdout, stderr, ``R:`` lines) for a test to compare.
- :func:`run_agent`, :func:`tree` and :func:`both` are for promises that change files:
  the policy names its target directory ``@T@``, each agent gets its own, and the printed
  lines (target as ``<T>``) and the resulting trees (names, modes, contents) must agree.
  Without cf-agent the vigil side still runs and is checked against the expectations the
  test writes down.

How each agent is started is said here only (:func:`vigil_argv`, :func:`cf_argv`): the
conformance runner (``tests/conformance/execute.py``) and the lock harness
(``tests/engine/locks_e2e/harness.py``) build their command lines through them. cf-agent's
workdir comes from :mod:`tests.cfengine`.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.cfengine import CLEAN_ENV, HAVE_CFENGINE, cf_env, make_workdir, runs_cfengine

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120.0
#: The agents a differential test runs here: cf-agent first where installed, then vigil.
AGENTS: tuple[str, ...] = ("cf", "vigil") if HAVE_CFENGINE else ("vigil",)


@dataclass(frozen=True, slots=True)
class Run:
    """What one agent run printed."""

    rc: int
    stdout: str
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout + self.stderr

    @property
    def returncode(self) -> int:
        """``rc``, by the name ``subprocess.CompletedProcess`` gives it."""
        return self.rc

    @property
    def reports(self) -> list[str]:
        """The ``R:`` lines of stdout and stderr, stripped, in order."""
        return report_lines(self.out)


def report_lines(output: str) -> list[str]:
    """The lines of ``output`` that are reports (``R: ...``), stripped, in order."""
    return [ln.strip() for ln in output.splitlines() if ln.strip().startswith("R: ")]


def report_texts(output: str) -> list[str]:
    """The text of each report, its continuation lines (a report holding newlines) joined
    back; log lines end a report."""
    out: list[str] = []
    for line in output.split("\n"):
        if line.startswith("R: "):
            out.append(line[3:])
        elif out and line and not line.lstrip().startswith(
                ("error:", "warning:", "notice:", "info:")):
            out[-1] += "\n" + line
    return out


def vigil_argv(policy: Path, workdir: Path, *flags: str) -> list[str]:
    """The one way these tests start vigil's agent."""
    return [sys.executable, "-m", "engine", "agent", *flags, "-f", str(policy), "-w", str(workdir)]


@runs_cfengine
def cf_argv(policy: Path, *flags: str) -> list[str]:
    """The one way these tests start cf-agent (its workdir is in the environment:
    :func:`tests.cfengine.cf_env`)."""
    return ["cf-agent", *flags, "-f", str(policy)]


def agent_argv(which: str, policy: Path, workdir: Path, *flags: str) -> list[str]:
    """:func:`cf_argv` (``which == "cf"``) or :func:`vigil_argv`."""
    return cf_argv(policy, *flags) if which == "cf" else vigil_argv(policy, workdir, *flags)


def _run(argv: list[str], env: Mapping[str, str] | None, cwd: Path | None,
         timeout: float) -> Run:
    cp = subprocess.run(argv, env=None if env is None else dict(env), cwd=cwd,
                        stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                        check=False)
    return Run(cp.returncode, cp.stdout.decode("utf-8", "surrogateescape"),
               cp.stderr.decode("utf-8", "surrogateescape"))


@runs_cfengine
def run_cf(policy: Path, workdir: Path, *flags: str, env: Mapping[str, str] | None = None,
           cwd: Path | None = None, timeout: float = TIMEOUT,
           failsafe: str | None = None) -> Run:
    """cf-agent ``flags -f policy`` in ``workdir`` (made by :func:`tests.cfengine.make_workdir`
    when it has no ``bin`` yet; ``failsafe`` replaces its inert failsafe). ``env`` defaults to
    this process's environment."""
    if not (workdir / "bin").is_symlink():
        if failsafe is None:
            make_workdir(workdir)
        else:
            make_workdir(workdir, failsafe=failsafe)
    return _run(cf_argv(policy, *flags), cf_env(workdir, env), cwd, timeout)


def run_vigil(policy: Path, workdir: Path, *flags: str, env: Mapping[str, str] | None = None,
              cwd: Path | None = None, timeout: float = TIMEOUT) -> Run:
    """``vigil agent flags -f policy -w workdir``; ``env`` defaults to this process's."""
    return _run(vigil_argv(policy, workdir, *flags), env, cwd, timeout)


@runs_cfengine
def run_both(tmp_path: Path, policy_text: str, *flags: str) -> tuple[Run | None, Run]:
    """Write ``policy_text`` to ``tmp_path/p.cf`` and run it with cf-agent (None where
    absent; workdir ``tmp_path/cfwd``) and vigil (``tmp_path/vwd``), each with ``flags``."""
    policy = tmp_path / "p.cf"
    policy.write_text(policy_text)
    theirs = run_cf(policy, tmp_path / "cfwd", *flags) if HAVE_CFENGINE else None
    return theirs, run_vigil(policy, tmp_path / "vwd", *flags)


# -- promises that change a target tree ---------------------------------------------------


def workdir_of(which: str, base: Path) -> Path:
    """Where :func:`run_agent` puts ``which``'s workdir under ``base``."""
    return base / ("cfwd" if which == "cf" else "vwd")


def agent_env(which: str, base: Path) -> dict[str, str]:
    """The clean environment of :func:`run_agent`: fixed locale and zone, ``HOME`` in
    the temp dir."""
    if which == "cf":
        wd = workdir_of("cf", base)
        return cf_env(wd, CLEAN_ENV, HOME=str(wd))
    return {**CLEAN_ENV, "HOME": str(base), "PYTHONPATH": str(ROOT)}


@runs_cfengine
def rerun(which: str, base: Path, policy: Path, *flags: str) -> Run:
    """Run ``policy`` again in the workdir :func:`run_agent` made under ``base``."""
    wd = workdir_of(which, base)
    if which == "cf":
        return run_cf(policy, wd, *flags, env=agent_env(which, base), cwd=base)
    return run_vigil(policy, wd, *flags, env=agent_env(which, base), cwd=base)


@runs_cfengine
def run_agent(which: str, policy_text: str, base: Path, target: Path, *args: str,
              policy_name: str | None = None, mask_base: bool = False) -> list[str]:
    """Run ``policy_text`` (``@T@`` -> ``target``) with ``which`` ("cf" or "vigil") and
    ``-K -I *args`` in a fresh workdir under ``base``; its non-empty output lines with
    ``target`` as ``<T>`` (and ``base`` as ``<B>`` when ``mask_base``)."""
    policy = base / (policy_name or f"{which}.cf")
    policy.write_text(policy_text.replace("@T@", str(target)))
    run = rerun(which, base, policy, "-K", "-I", *args)
    text = run.out.replace(str(target), "<T>")
    if mask_base:
        text = text.replace(str(base), "<B>")
    return [ln for ln in text.splitlines() if ln.strip()]


def tree(root: Path) -> dict[str, tuple[str, str]]:
    """``{relative path: (mode, content | "dir" | "other")}`` of everything under ``root``."""
    out: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(root))
            if stat.S_ISREG(st.st_mode):
                out[rel] = (f"{stat.S_IMODE(st.st_mode):04o}", p.read_text(errors="replace"))
            else:
                out[rel] = (f"{stat.S_IMODE(st.st_mode):04o}", "dir" if p.is_dir() else "other")
    return out


@runs_cfengine
def both(tmp_path: Path, policy: str, setup: Callable[[Path], None],
         drop: Callable[[str], bool] = lambda ln: False, compare_tree: bool = True,
         args: tuple[str, ...] = (), policy_name: str | None = None,
         mask_base: bool = False) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """Run vigil (and cf-agent when installed), each on a target tree ``setup`` made;
    assert their lines (and trees) agree; return vigil's (lines, tree)."""
    results = {}
    for which in AGENTS:
        base = tmp_path / which
        base.mkdir()
        target = base / "T"
        target.mkdir()
        setup(target)
        lines = [ln for ln in run_agent(which, policy, base, target, *args,
                                        policy_name=policy_name, mask_base=mask_base)
                 if not drop(ln)]
        results[which] = (lines, tree(target))
    if HAVE_CFENGINE:
        assert results["vigil"][0] == results["cf"][0]
        if compare_tree:
            assert results["vigil"][1] == results["cf"][1]
    return results["vigil"]
