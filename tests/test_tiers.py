"""The tiers hold: tests that run CFEngine's programs are marked ``cfengine`` without being
told (tests/conftest.py), and a test that requires CFEngine is skipped, saying so, where it
is absent (here: ``VIGIL_TESTS_CFENGINE=0``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # two pytest sessions in subprocesses

ROOT = Path(__file__).resolve().parents[1]
DIFFERENTIAL = "tests/engine/eval/test_nested_iteration_vs_cfagent.py"  # run_both, required
TREE = "tests/engine/eval/test_cache_system_functions_vs_cfagent.py"  # both(): vigil alone works
UNIT = "tests/engine/eval/test_bundle_runner.py"


def _pytest(*args: str, cfengine: bool = True) -> str:
    env = dict(os.environ, VIGIL_TESTS_CFENGINE="1" if cfengine else "0")
    cp = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return cp.stdout + cp.stderr


def test_cfengine_marker_is_put_on_tests_that_run_cfengine() -> None:
    out = _pytest("--collect-only", "-q", "-m", "cfengine", DIFFERENTIAL, TREE, UNIT)
    collected = {ln.split("::")[0] for ln in out.splitlines() if "::" in ln}
    assert collected == {DIFFERENTIAL, TREE}, out


def test_required_cfengine_is_skipped_where_absent_and_the_rest_runs_vigil_alone() -> None:
    out = _pytest("-q", "-rs", DIFFERENTIAL, TREE, cfengine=False)
    assert "CFEngine is not installed (cf-agent, cf-key, cf-promises absent)" in out, out
    assert "3 passed, 1 skipped" in out, out
