"""Run one whole policy through cf-agent and vigil and compare what they report.

For functions whose result depends on the run (``bundlestate``, ``datastate``,
``$(with)``, inline JSON naming variables), calling the function alone is not
enough: the policy is the test case. :func:`reports` returns the ``R:`` lines of
each agent, continuation lines joined back.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.engine.functions.conftest import make_cf_workdir

ROOT = Path(__file__).resolve().parents[3]
VIGIL = ROOT / ".venv" / "bin" / "vigil"


def _r_lines(output: str) -> list[str]:
    out: list[str] = []
    for line in output.split("\n"):
        if line.startswith("R: "):
            out.append(line[3:])
        elif out and line and not line.lstrip().startswith(("error:", "warning:", "notice:", "info:")):
            out[-1] += "\n" + line
    return out


def cf_output(tmp_path: Path, policy_text: str, *extra: str) -> str:
    wd = tmp_path / "cfw"
    if not wd.exists():
        make_cf_workdir(wd)
    policy = tmp_path / "p.cf"
    policy.write_text(policy_text)
    env = {**os.environ, "CFENGINE_TEST_OVERRIDE_WORKDIR": str(wd)}
    proc = subprocess.run(["cf-agent", "-K", "-f", str(policy), *extra], env=env, cwd=tmp_path,
                          capture_output=True, timeout=120, check=False)
    return proc.stdout.decode("utf-8", "surrogateescape")


def vigil_output(tmp_path: Path, policy_text: str, *extra: str) -> str:
    policy = tmp_path / "p.cf"
    policy.write_text(policy_text)
    proc = subprocess.run([str(VIGIL), "agent", "-w", str(tmp_path / "vw"), "-K", "-f", str(policy),
                           *extra], cwd=tmp_path, capture_output=True, timeout=120, check=False)
    return proc.stdout.decode("utf-8", "surrogateescape")


def reports(tmp_path: Path, policy_text: str) -> tuple[list[str], list[str]]:
    """(cf-agent's R: lines, vigil's R: lines), each sorted: the order of passes differs."""
    return (sorted(_r_lines(cf_output(tmp_path, policy_text))),
            sorted(_r_lines(vigil_output(tmp_path, policy_text))))
