"""execd as a real process: schedule, outputs, policy validation, expiry, requests, stop."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.commands.execd import request_run
from engine.daemons import procs
from engine.daemons.execd.daemon import EXPIRE_ENV, read_status
from engine.daemons.supervise import supervisor
from tests.engine.daemons.conftest import standin, wait_for, write_policy

OUTPUT_RE = re.compile(r"^cf_[A-Za-z0-9_]+__\d+_[A-Z][a-z]{2}_[A-Z][a-z]{2}_[_ 0-9]{2}_\d\d_\d\d_\d\d_\d{4}_0x[0-9a-f]+$")


def _outputs(root: Path) -> list[Path]:
    return sorted(
        (p for p in (root / "outputs").iterdir() if p.name.startswith("cf_")),
        key=lambda p: p.stat().st_mtime,
    )


def _reports(root: Path) -> list[dict]:
    runs = root / "outputs" / "runs"
    if not runs.exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(runs.glob("*.json"))]


def _start(root: Path) -> int:
    r = supervisor.start(root, "execd")
    assert r.ok, r.message
    assert r.pid is not None
    return r.pid


@pytest.mark.slow
def test_runs_on_schedule_with_cf_execd_output_naming(wd: Path) -> None:
    write_policy(wd)
    standin(wd)
    _start(wd)
    wait_for(lambda: len(_reports(wd)) >= 2, timeout=15)
    outs = _outputs(wd)
    assert outs and all(OUTPUT_RE.match(p.name) for p in outs), [p.name for p in outs]
    assert (outs[0].stat().st_mode & 0o777) == 0o600
    prev = wd / "outputs" / "previous"
    assert prev.is_symlink() and Path(prev.resolve()).name.startswith("cf_")
    text = outs[0].read_text()
    assert "started_by=schedule" in text and "# marker v1" in text
    rep = _reports(wd)[0]
    assert rep["started_by"] == "schedule" and rep["exit_code"] == 0
    assert rep["interrupted"] is False and rep["output_file"].startswith(str(wd / "outputs"))
    st = read_status(wd)
    assert st is not None and st["policy_ok"] is True and st["schedule"] == ["any"]
    assert st["next_run_at"] is not None
    # The agent runs the validated copy, never inputs/ directly.
    assert (wd / "state" / "last_valid_inputs" / "promises.cf").is_file()


@pytest.mark.slow
def test_invalid_policy_is_never_run_and_last_valid_keeps_running(wd: Path) -> None:
    write_policy(wd, "v1")
    standin(wd)
    _start(wd)
    wait_for(lambda: any("v1" in p.read_text() for p in _outputs(wd)), timeout=15)
    bad = wd / "inputs" / "promises.cf"
    bad.write_text("# marker v2\nbundle agent main {\n  reports: \"x\"\n}\n")  # missing ;
    st = wait_for(lambda: (s := read_status(wd)) and s["policy_ok"] is False and s, timeout=15)
    assert re.search(r"promises\.cf:\d+:\d+", st["policy_error"]), st["policy_error"]
    assert st["last_valid_at"] is not None
    n = len(_reports(wd))
    wait_for(lambda: len(_reports(wd)) >= n + 2, timeout=15)
    newest = Path(_reports(wd)[-1]["output_file"]).read_text()
    assert "v1" in newest and "v2" not in newest
    assert all("v2" not in p.read_text() for p in _outputs(wd))
    # Fixing the policy puts the new one in force.
    write_policy(wd, "v3")
    wait_for(lambda: "v3" in Path(_reports(wd)[-1]["output_file"]).read_text(), timeout=15)
    assert read_status(wd)["policy_ok"] is True


@pytest.mark.slow
def test_agent_past_expireafter_is_killed_with_its_children(
    wd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EXPIRE_ENV, "1.5")
    write_policy(wd)
    standin(wd, sleep=60, child=True)
    _start(wd)
    st = wait_for(lambda: (s := read_status(wd)) and s["killed_runs"] >= 1 and s, timeout=20)
    assert st["last_killed_at"] is not None
    rep = wait_for(lambda: [r for r in _reports(wd) if r["interrupted"]], timeout=5)[0]
    assert rep["exit_code"] != 0 and rep["end"] >= rep["start"]
    killed_pid = st["last_run"]["pid"]
    assert not procs.alive(killed_pid)
    # The agent's own child went with its process group.
    child = int((wd / "standin_child.pid").read_text())
    wait_for(lambda: not procs.alive(child), timeout=3)
    log = (wd / "logs" / "execd.log").read_text()
    assert "agent_expireafter" in log


@pytest.mark.slow
def test_request_run_over_the_socket(wd: Path) -> None:
    write_policy(wd, schedule='"never_defined_class"')
    standin(wd)
    _start(wd)
    wait_for(lambda: (s := read_status(wd)) and s["policy_ok"], timeout=10)
    time.sleep(1.5)
    assert _reports(wd) == []
    assert request_run(wd, ["extra_class"]) is True
    rep = wait_for(lambda: _reports(wd), timeout=10)[0]
    assert rep["started_by"] == "forced"
    out = Path(rep["output_file"]).read_text()
    assert "started_by=forced" in out


def test_request_run_without_execd_is_false(wd: Path) -> None:
    assert request_run(wd) is False


@pytest.mark.slow
def test_sigterm_lets_the_agent_finish_within_grace_then_kills(wd: Path) -> None:
    write_policy(wd)
    standin(wd, sleep=60)
    pid = _start(wd)
    st = wait_for(lambda: (s := read_status(wd)) and s["current_run"] and s, timeout=10)
    agent = st["current_run"]["pid"]
    t0 = time.monotonic()
    procs.signal_pids([pid], signal.SIGTERM)
    wait_for(lambda: not procs.alive(pid), timeout=15)
    took = time.monotonic() - t0
    assert 1.5 < took < 12, took  # grace_seconds = 2
    assert not procs.alive(agent)
    assert not (wd / "execd.pid").exists()
    assert not (wd / "state" / "execd.sock").exists()
    assert any(r["interrupted"] for r in _reports(wd))


def test_once_runs_one_agent_and_returns_its_exit_code(wd: Path) -> None:
    write_policy(wd)
    standin(wd, exit=3)
    cp = subprocess.run(
        [sys.executable, "-m", "engine", "execd", "--once", "-w", str(wd)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert cp.returncode == 3, cp.stdout + cp.stderr
    reps = _reports(wd)
    assert len(reps) == 1 and reps[0]["exit_code"] == 3 and reps[0]["started_by"] == "schedule"
    assert not (wd / "execd.pid").exists()


def test_once_refuses_an_invalid_policy(wd: Path) -> None:
    (wd / "inputs" / "promises.cf").write_text("bundle agent main {\n")
    cp = subprocess.run(
        [sys.executable, "-m", "engine", "execd", "--once", "-w", str(wd)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert cp.returncode == 1
    assert "invalid" in cp.stdout.lower()
    assert _reports(wd) == []
