"""Run one whole policy through cf-agent and vigil and compare what they report.

For functions whose result depends on the run (``bundlestate``, ``datastate``,
``$(with)``, inline JSON naming variables), calling the function alone is not
enough: the policy is the test case. :func:`reports` returns the ``R:`` lines of
each agent, continuation lines joined back.
"""

from __future__ import annotations

from pathlib import Path

from tests.differential import report_texts, run_cf, run_vigil
from tests.engine.functions.conftest import FAILSAFE


def cf_output(tmp_path: Path, policy_text: str, *extra: str) -> str:
    policy = tmp_path / "p.cf"
    policy.write_text(policy_text)
    return run_cf(policy, tmp_path / "cfw", "-K", *extra, cwd=tmp_path, failsafe=FAILSAFE).stdout


def vigil_output(tmp_path: Path, policy_text: str, *extra: str) -> str:
    policy = tmp_path / "p.cf"
    policy.write_text(policy_text)
    return run_vigil(policy, tmp_path / "vw", "-K", *extra, cwd=tmp_path).stdout


def reports(tmp_path: Path, policy_text: str) -> tuple[list[str], list[str]]:
    """(cf-agent's R: lines, vigil's R: lines), each sorted: the order of passes differs."""
    return (sorted(report_texts(cf_output(tmp_path, policy_text))),
            sorted(report_texts(vigil_output(tmp_path, policy_text))))
