"""The tiers hold: tests that run CFEngine's programs are marked ``cfengine`` without being
told (tests/conftest.py), a test that requires CFEngine is skipped, saying so, where it
is absent (here: ``VIGIL_TESTS_CFENGINE=0``), and no test or benchmark asks by itself whether
CFEngine is installed or how an agent is started: ``tests/cfhost.py`` answers the first
(detection and the cf-agent workdir recipe), ``tests/differential.py`` the second."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIFFERENTIAL = "tests/engine/eval/test_nested_iteration_vs_cfagent.py"  # run_both, required
TREE = "tests/engine/eval/test_cache_system_functions_vs_cfagent.py"  # both(): vigil alone works
UNIT = "tests/engine/eval/test_bundle_runner.py"


def _pytest(*args: str, cfengine: bool = True) -> str:
    env = dict(os.environ, VIGIL_TESTS_CFENGINE="1" if cfengine else "0")
    cp = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return cp.stdout + cp.stderr


@pytest.mark.slow  # a pytest session in a subprocess
def test_cfengine_marker_is_put_on_tests_that_run_cfengine() -> None:
    out = _pytest("--collect-only", "-q", "-m", "cfengine", DIFFERENTIAL, TREE, UNIT)
    collected = {ln.split("::")[0] for ln in out.splitlines() if "::" in ln}
    assert collected == {DIFFERENTIAL, TREE}, out


@pytest.mark.slow  # a pytest session in a subprocess
def test_required_cfengine_is_skipped_where_absent_and_the_rest_runs_vigil_alone() -> None:
    out = _pytest("-q", "-rs", DIFFERENTIAL, TREE, cfengine=False)
    assert "CFEngine is not installed (cf-agent, cf-key, cf-promises absent)" in out, out
    assert "3 passed, 1 skipped" in out, out


# -- one detection, one way to start an agent ----------------------------------------------

DETECTION = "tests/cfhost.py"  # is CFEngine here, where, and a workdir for cf-agent
COMMANDS = "tests/differential.py"  # how each agent is started
#: Module-level functions only their owner defines (a second one is a second answer).
OWNED = {
    **dict.fromkeys(("which", "missing", "have_cfengine", "have_cfagent", "cf_version",
                     "cf_env", "key_pair", "make_workdir"), DETECTION),
    **dict.fromkeys(("vigil_argv", "cf_argv", "agent_argv", "run_cf", "run_vigil",
                     "run_both"), COMMANDS),
}
#: Harnesses that run both agents: their command lines come from COMMANDS.
HARNESSES = ("tests/conformance/", "tests/engine/locks_e2e/")
WORKDIR_VAR = "CFENGINE_TEST_OVERRIDE_WORKDIR"
CF_PATH = re.compile(r"/usr/s?bin/cf-")
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()  # names the patterns it bans


def _sources() -> Iterator[tuple[str, str]]:
    for top in ("tests", "bench"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel != THIS and not rel.startswith("tests/conformance/cases/"):
                yield rel, path.read_text(encoding="utf-8")


def _which_of_cfengine(call: ast.Call) -> bool:
    """``shutil.which(X)`` where X is a CFEngine program, or may be (not a literal)."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "which"
            and isinstance(func.value, ast.Name) and func.value.id == "shutil"):
        return False
    first = call.args[0] if call.args else None
    return not (isinstance(first, ast.Constant) and isinstance(first.value, str)
                and not first.value.startswith("cf-"))


def _agent_command(node: ast.List) -> bool:
    """A literal command line of cf-agent or of ``python -m engine agent``."""
    words = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
    return words[:1] == ["cf-agent"] or any(
        words[i:i + 3] == ["-m", "engine", "agent"] for i in range(len(words)))


def second_answers(rel: str, text: str) -> list[str]:
    """Where ``text`` (the file ``rel``) decides by itself whether CFEngine is installed,
    where, how cf-agent gets a workdir, or how an agent is started."""
    found: list[str] = []

    def say(node: ast.stmt | ast.expr | ast.keyword, what: str) -> None:
        found.append(f"{rel}:{node.lineno}: {what}")

    tree = ast.parse(text, rel)
    for node in ast.walk(tree) if rel != DETECTION else ():
        if isinstance(node, ast.ImportFrom) and node.module == "shutil" \
                and any(a.name == "which" for a in node.names):
            say(node, "imports shutil.which: use tests.cfhost.which")
        elif isinstance(node, ast.Call) and _which_of_cfengine(node):
            say(node, "asks shutil.which for CFEngine: use tests.cfhost (which, missing, "
                      "HAVE_CFENGINE)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                CF_PATH.match(node.value) or node.value == WORKDIR_VAR):
            say(node, f"{node.value!r}: use tests.cfhost (CF_AGENT, CF_BINDIR, cf_env)")
        elif isinstance(node, ast.keyword) and node.arg == WORKDIR_VAR:
            say(node, f"{WORKDIR_VAR}=: use tests.cfhost.cf_env")
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(
                node.values[0], ast.Constant) and node.values[0].value in ("/usr/bin/",
                                                                            "/usr/sbin/"):
            say(node, "a program under a fixed bin directory: use tests.cfhost.CF_BINDIR")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and OWNED.get(node.name, rel) != rel:
            say(node, f"defines {node.name}(), which is {OWNED[node.name]}'s")
    if rel.startswith(HARNESSES):
        for node in ast.walk(tree):
            if isinstance(node, ast.List) and _agent_command(node):
                say(node, f"builds an agent's command line: use {COMMANDS}")
    return found


def test_one_cfengine_detection_and_one_way_to_start_an_agent() -> None:
    found = [hit for rel, text in _sources() for hit in second_answers(rel, text)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("line", [
    'shutil.which("cf-agent")',
    "shutil.which(prog)",
    "from shutil import which",
    'AGENT = "/usr/bin/cf-agent"',
    'p = f"/usr/bin/{prog}"',
    'env = {**os.environ, "CFENGINE_TEST_OVERRIDE_WORKDIR": str(wd)}',
    "env = dict(os.environ, CFENGINE_TEST_OVERRIDE_WORKDIR=str(wd))",
    "def have_cfengine() -> bool: ...",
])
def test_the_check_sees_a_second_detection(line: str) -> None:
    assert second_answers("bench/x.py", line)
    assert not second_answers(DETECTION, line)


def test_the_check_sees_a_harness_building_its_own_command_line() -> None:
    text = 'argv = [sys.executable, "-m", "engine", "agent", "-f", str(p)]\n'
    assert second_answers("tests/conformance/execute.py", text)
    assert not second_answers("tests/engine/eval/test_x.py", text)
    assert not second_answers("bench/x.py", 'shutil.which("unshare")')
