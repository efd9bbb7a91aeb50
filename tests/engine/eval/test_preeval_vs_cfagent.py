"""Variables cf-agent resolves before the bundlesequence: the vars of bundles never
called (without arguments) and the control_<type> variables of control bodies."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.masterfiles import cf_workdir, parse_names

ROOT = Path(__file__).resolve().parents[3]
VIGIL = ROOT / ".venv" / "bin" / "vigil"

POLICY = """
body common control { bundlesequence => { "main" }; ignore_missing_bundles => "false"; }
body agent control { ifelapsed => "7"; abortclasses => { "never_ever" }; }
bundle agent main { vars: "x" string => "main"; }
bundle agent uncalled { vars: "plain" string => "p"; "listed" slist => { "a", "b" };
  "counted" int => length(listed); "arr[k]" string => "v"; }
bundle agent takes(service, state) {
  vars: "fixed" string => "f";
        "uses" string => "$(service)";
        "indirect" string => "$(uses)-x";
        "byname" int => length(uses);
        "later" string => "after";
}
bundle edit_line lines(x) { vars: "e" string => "edit"; "ex" string => "$(x)"; }
"""
INTEREST = ("uncalled", "takes", "lines", "control_")


def _names(text: str) -> set[str]:
    return {n for n in parse_names(text, "vars") if any(f":{b}" in n for b in INTEREST)}


@pytest.mark.skipif(shutil.which("cf-agent") is None or shutil.which("cf-key") is None,
                    reason="cf-agent is not installed")
def test_pre_evaluated_vars_match_cf_agent(tmp_path: Path) -> None:
    policy = tmp_path / "p.cf"
    policy.write_text(POLICY)
    cfw = cf_workdir(tmp_path)
    cf = subprocess.run(["cf-agent", "-K", "-f", str(policy), "--show-evaluated-vars"],
                        env={**os.environ, "CFENGINE_TEST_OVERRIDE_WORKDIR": str(cfw)},
                        capture_output=True, text=True, timeout=120)
    ours = subprocess.run([str(VIGIL), "agent", "-w", str(tmp_path / "vw"), "-K", "-f", str(policy),
                           "--show-evaluated-vars"], capture_output=True, text=True, timeout=120)
    assert "error:" not in ours.stdout + ours.stderr
    theirs = _names(cf.stdout)
    assert "default:uncalled.plain" in theirs and "default:control_agent.ifelapsed" in theirs
    assert _names(ours.stdout) == theirs
