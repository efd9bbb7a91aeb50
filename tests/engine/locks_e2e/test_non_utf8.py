"""Bytes that are not UTF-8 flow through variables, reports and run reports unchanged.

A command's output or a file in Latin-1 (``caf\\xe9``) becomes a variable; the
agent prints it as the bytes it was, exits 0 as cf-agent does, and its run
report keeps it losslessly (escaped in the JSON, given back by the reader).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.state.runs import list_reports, load_report, read_header
from tests.cfengine import HAVE_CFENGINE
from tests.differential import agent_argv
from tests.engine.locks_e2e.harness import SamePath, env_for

POLICY = """
bundle agent main
{
vars:
  "x" string => execresult("/bin/cat {latin1}", "noshell");
reports:
  "$(x)";
}
"""


def _raw_run(kind: str, policy: Path, wd: Path, *flags: str) -> tuple[int, bytes]:
    proc = subprocess.run(agent_argv(kind, policy, wd, *flags), env=env_for(wd), cwd=wd,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("flags", [("-K",), ()], ids=["no-locks", "locks"])
def test_latin1_output_prints_as_bytes_and_lands_in_the_run_report(
        site: SamePath, flags: tuple[str, ...]) -> None:
    latin1 = site.base / "latin1.txt"
    latin1.write_bytes(b"caf\xe9")
    policy = site.write_policy(POLICY.replace("{latin1}", str(latin1)))
    expected = b"R: caf\xe9\n"
    if HAVE_CFENGINE:
        wd = site.start("cf")
        rc, out = _raw_run("cf", policy, wd, *flags)
        assert (rc, out) == (0, expected)
        site.park()
    wd = site.start("vigil")
    rc, out = _raw_run("vigil", policy, wd, *flags)
    assert (rc, out) == (0, expected)

    [path] = list_reports(wd / "outputs" / "runs")
    raw = path.read_bytes()
    raw.decode("utf-8")  # the file is valid UTF-8 ...
    assert b"\\udce9" in raw  # ... holding the byte as an escape
    json.loads(raw)
    report = load_report(path)
    [rec] = [r for r in report.promises if r.promise_type == "reports"]
    assert rec.promiser.encode("utf-8", "surrogateescape") == b"caf\xe9"
    assert read_header(path)["exit_code"] == 0

    # `vigil runs` prints it back as the byte, even where stdout is strict UTF-8
    env = {**env_for(wd), "PYTHONIOENCODING": "utf-8:strict"}
    shown = subprocess.run([sys.executable, "-m", "engine", "runs", "-w", str(wd), "latest"],
                           env=env, capture_output=True, timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    assert b"caf\xe9" in shown.stdout
    as_json = subprocess.run(
        [sys.executable, "-m", "engine", "runs", "-w", str(wd), "--json", "latest"],
        env=env, capture_output=True, timeout=60, check=False)
    assert as_json.returncode == 0, as_json.stderr
    promisers = [row[2] for row in json.loads(as_json.stdout)["promises"]]
    assert "caf\udce9" in promisers
