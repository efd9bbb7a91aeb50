"""Run every run of a case with one agent and collect what the comparison needs.

The two agents differ only in :func:`cfagent_command` and :func:`vigil_command`, which
take their command lines from the differential harness (:func:`tests.differential.cf_argv`,
:func:`tests.differential.vigil_argv`): change how an agent is invoked there.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conformance.case import Case
from tests.conformance.normalise import split_output
from tests.conformance.workdirs import agent_env, apply_setup, prepare, snapshot
from tests.differential import cf_argv, vigil_argv

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 60.0

# (policy path, workdir, run arguments) -> argv
CommandBuilder = Callable[[Path, Path, list[str]], list[str]]


def cfagent_command(policy: Path, workdir: Path, args: list[str]) -> list[str]:
    """cf-agent reads its workdir from the environment (see agent_env)."""
    return cf_argv(policy, *args)


def vigil_command(policy: Path, workdir: Path, args: list[str]) -> list[str]:
    return vigil_argv(policy, workdir, *args)


def run_case(
    case: Case, build: CommandBuilder, cfengine: bool, base: Path | None = None
) -> list[dict[str, Any]]:
    """Run ``case`` in a fresh workdir under ``base`` (a new temp dir when None)."""
    if base is None:
        with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
            return run_case(case, build, cfengine, Path(tmp))
    workdir = (base / "wd").resolve()
    policy = prepare(case, workdir, cfengine=cfengine)
    results: list[dict[str, Any]] = []
    for run in case.runs:
        if run.sleep:
            time.sleep(run.sleep)
        apply_setup(run, workdir)
        argv = build(policy, workdir, case.run_args(run))
        try:
            proc = subprocess.run(
                argv,
                cwd=workdir,
                env=agent_env(workdir),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=RUN_TIMEOUT,
                check=False,
            )
            raw = proc.stdout.decode("utf-8", errors="replace")
            rc = proc.returncode
        except subprocess.TimeoutExpired as exc:
            partial = exc.stdout or b""
            raw = (
                partial.decode("utf-8", errors="replace") if isinstance(partial, bytes) else partial
            )
            rc = -9
        out = split_output(raw, str(workdir))
        if rc == -9:
            out.log.append(f"<timed out after {RUN_TIMEOUT:.0f} s>")
        results.append(
            {
                "args": case.run_args(run),
                "rc": rc,
                "R": out.R,
                "log": out.log,
                "files": snapshot(case, workdir),
            }
        )
    return results
