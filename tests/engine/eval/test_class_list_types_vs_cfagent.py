"""Class lists (``and``, ``or``, ``xor``) given something that is not a list: a quoted
value or a function of another return type is refused before the run, a class
function (``and => userexists("root")``) stops the run when evaluated. Differential:
cf-agent and vigil on the same policy agree on failing and on what is reported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAD = (
    'bundle agent main {\nvars: "x" string => "any"; "l" slist => { "any" };\n'
    '  "a[k]" string => "any";\nclasses:\n'
)
TAIL = '\nreports:\n  ok:: "ok";\n  !ok:: "not ok";\n}\n'
VALUES = {
    "class_function_and": 'and => userexists("root")',
    "class_function_or_false": 'or => userexists("no-such-user-here")',
    "class_function_in_braces": 'and => { userexists("root") }',
    "quoted_scalar": 'and => "$(x)"',
    "quoted_list": 'or => "@(l)"',
    "string_function": 'and => concat("any")',
    "list_function": 'or => splitstring("any,x", ",", "9")',
    "bare_list": "or => @(l)",
    "expression_string_function": 'expression => concat("any")',
    "expression_list_function": 'expression => splitstring("any", ",", "9")',
}


def cf_agent(tmp: Path, policy: Path) -> tuple[bool, list[str]]:
    wd = tmp / "cfwd"
    (wd / "inputs").mkdir(parents=True)
    (wd / "bin").symlink_to("/usr/bin")
    (wd / "inputs" / "failsafe.cf").write_text(
        'bundle agent main { }\nbody common control { bundlesequence => { "main" }; }\n'
    )
    env = dict(os.environ, CFENGINE_TEST_OVERRIDE_WORKDIR=str(wd))
    cp = subprocess.run(
        ["cf-agent", "-Kf", str(policy)], capture_output=True, text=True, env=env, timeout=60
    )
    return _outcome(cp)


def vigil(tmp: Path, policy: Path) -> tuple[bool, list[str]]:
    cp = subprocess.run(
        [sys.executable, "-m", "engine", "agent", "-Kf", str(policy), "-w", str(tmp / "vwd")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return _outcome(cp)


def _outcome(cp: subprocess.CompletedProcess[str]) -> tuple[bool, list[str]]:
    out = cp.stdout + cp.stderr
    # cf-agent falls back to its failsafe after a policy error (vigil runs nothing):
    # what must agree is that an error was reported, and the reports made
    failed = "error:" in out
    return failed, [ln.strip() for ln in out.splitlines() if ln.strip().startswith("R: ")]


@pytest.mark.skipif(shutil.which("cf-agent") is None, reason="cf-agent is not installed")
@pytest.mark.parametrize("name", sorted(VALUES))
def test_same_outcome_as_cf_agent(tmp_path: Path, name: str) -> None:
    policy = tmp_path / "p.cf"
    policy.write_text(HEAD + f'  "ok" {VALUES[name]};' + TAIL)
    assert vigil(tmp_path, policy) == cf_agent(tmp_path, policy)
