"""``vigil cfnames DIR``: vigil under CFEngine's command names, as a drop-in host runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cfengine import requires_cfengine
from tests.differential import run_cf

REPO = Path(__file__).resolve().parents[2]

POLICY = r"""body common control { bundlesequence => { "main" }; }
bundle agent main
{
  processes:
    "\bcf-agent\b" process_count => seen;
  reports:
    found:: "an agent named cf-agent runs";
    !found:: "no agent named cf-agent";
}
body process_count seen
{
  in_range_define => { "found" };
  match_range => irange(1, "inf");
}
"""


def _cfnames(target: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "cfnames", str(target), *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def test_the_commands_run_vigil_under_cfengine_names(tmp_path: Path) -> None:
    r = _cfnames(tmp_path / "bin")
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "bin").iterdir())
    assert names == sorted(["cf-agent", "cf-promises", "cf-execd", "cf-monitord", "cf-serverd",
                            "cf-key", "cf-runagent"])
    policy = tmp_path / "p.cf"
    policy.write_text(POLICY)
    wd = tmp_path / "wd"
    run = subprocess.run([str(tmp_path / "bin" / "cf-agent"), "-K", "-w", str(wd), "-f", str(policy)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    # the process table shows the name it was started under, as on a CFEngine host
    assert "R: an agent named cf-agent runs" in run.stdout
    check = subprocess.run([str(tmp_path / "bin" / "cf-promises"), "-w", str(wd), "-f", str(policy)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    again = _cfnames(tmp_path / "bin")  # its own scripts are rewritten
    assert again.returncode == 0, again.stderr


def test_foreign_files_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    theirs = tmp_path / "bin" / "cf-agent"
    theirs.write_text("#!/bin/sh\necho the real one\n")
    r = _cfnames(tmp_path / "bin")
    assert r.returncode == 1 and "cf-agent' exists and is not vigil's" in r.stderr
    assert theirs.read_text() == "#!/bin/sh\necho the real one\n"
    assert (tmp_path / "bin" / "cf-promises").exists()
    assert _cfnames(tmp_path / "bin", "--force").returncode == 0
    assert "vigil cfnames" in theirs.read_text()


@requires_cfengine
def test_same_report_as_cf_agent(tmp_path: Path) -> None:
    """cf-agent finds itself in the process table; vigil run as cf-agent does too."""
    policy = tmp_path / "p.cf"
    policy.write_text(POLICY)
    real = run_cf(policy, tmp_path / "cf", "-K", env={"PATH": "/usr/bin:/bin"})
    assert _cfnames(tmp_path / "bin").returncode == 0
    ours = subprocess.run([str(tmp_path / "bin" / "cf-agent"), "-K", "-w", str(tmp_path / "wd"),
                           "-f", str(policy)], capture_output=True, text=True, timeout=120)
    reports = [ln for ln in real.stdout.splitlines() if ln.startswith("R: ")]
    assert reports == ["R: an agent named cf-agent runs"], real.stdout + real.stderr
    assert [ln for ln in ours.stdout.splitlines() if ln.startswith("R: ")] == reports
