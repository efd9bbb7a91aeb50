"""Something other than a regular file where a state file should be.

A FIFO, a directory or an unreadable file in place of ``cf_lock.lmdb``,
``cf_state.lmdb``, their ``-lock`` files or a run report: the agent and the
state commands finish (never wait on a FIFO), the error names the very file,
nothing is moved aside, and a symbolic link as ``-lock`` file is never followed.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 20
PR_CAPBSET_DROP = 24
POLICY = """
bundle agent main
{
commands:
  "/bin/true" action => always;
classes:
  "kept_a_while" expression => "any", persistence => "10";
}
body action always { ifelapsed => "0"; }
"""
TARGETS = ["state/cf_lock.lmdb", "state/cf_state.lmdb", "state/cf_lock.lmdb-lock",
           "state/cf_state.lmdb-lock", "run report"]
READERS = (["locks"], ["classes"], ["runs"], ["runs", "latest"])


def _env(wd: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(wd), "LC_ALL": "C",
            "PYTHONPATH": str(ROOT)}


def _drop_dac_override() -> None:
    """In the child, before exec: give up root's power to read any file
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so mode 000 means unreadable."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            os._exit(99)


def vigil(wd: Path, *args: str, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "engine", *args, "-w", str(wd)]
    if args[0] == "agent":
        argv = [sys.executable, "-m", "engine", "agent", "-f", str(wd.parent / "p.cf"),
                "-w", str(wd), *args[1:]]
    drop = _drop_dac_override if unprivileged and os.geteuid() == 0 else None
    result = subprocess.run(argv, env=_env(wd), cwd=ROOT, capture_output=True, text=True,
                            timeout=TIMEOUT, check=False, preexec_fn=drop)
    if result.returncode == 99 and drop is not None:
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here (prctl refused)")
    return result


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    (tmp_path / "p.cf").write_text(POLICY)
    w = tmp_path / "wd"
    first = vigil(w, "agent")
    assert first.returncode == 0, first.stdout + first.stderr
    assert (w / "state" / "cf_state.lmdb").exists() and (w / "state" / "cf_lock.lmdb").exists()
    return w


def _target(wd: Path, name: str) -> Path:
    if name == "run report":
        [report] = sorted((wd / "outputs" / "runs").glob("*.json"))
        return report
    return wd / name


def _no_traceback(result: subprocess.CompletedProcess[str]) -> str:
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fifo", "directory"])
@pytest.mark.parametrize("target", TARGETS)
def test_fifo_or_directory_in_place_of_a_state_file(wd: Path, target: str, kind: str) -> None:
    path = _target(wd, target)
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    what = "a FIFO" if kind == "fifo" else "a directory"
    message = f"{path} is {what}, not a regular file"

    agent = vigil(wd, "agent", "-I")
    out = _no_traceback(agent)
    assert agent.returncode == 0, out
    assert "Completed execution of '/bin/true'" in out, out
    if target != "run report":
        [line] = [ln for ln in out.splitlines() if "error:" in ln]
        assert line.endswith(message), out
    for args in READERS:
        result = vigil(wd, *args)
        out = _no_traceback(result)
        if target == "state/cf_lock.lmdb" and args == ["locks"]:
            assert result.returncode == 1 and message in out, out
        if target == "state/cf_state.lmdb" and args == ["classes"]:
            assert f"persistent classes unavailable: {message}" in out, out
        if target == "run report" and args == ["runs"]:
            assert f"warning: {message}" in out, out
    # never moved aside, never replaced: it is not a damaged database
    assert not list((wd / "state").glob("*.corrupt-*"))
    assert path.is_fifo() if kind == "fifo" else path.is_dir()


@pytest.mark.slow
@pytest.mark.parametrize("target", ["state/cf_lock.lmdb-lock", "state/cf_state.lmdb-lock"])
def test_symlinked_lock_file_is_never_followed(wd: Path, target: str) -> None:
    path = wd / target
    victim = wd.parent / "victim"
    path.unlink()
    path.symlink_to(victim)
    agent = vigil(wd, "agent", "-I")
    out = _no_traceback(agent)
    assert agent.returncode == 0
    assert f"{path} is a symbolic link, not a regular file" in out
    for args in READERS:
        _no_traceback(vigil(wd, *args))
    assert not victim.exists() and path.is_symlink()


@pytest.mark.parametrize("target", ["state/cf_lock.lmdb", "state/cf_state.lmdb", "run report"])
def test_unreadable_state_file(wd: Path, target: str) -> None:
    """Mode 000, read by a process that may not override it (root without
    CAP_DAC_OVERRIDE, like another user reading root's files)."""
    path = _target(wd, target)
    path.chmod(0)
    for args in READERS:
        result = vigil(wd, *args, unprivileged=True)
        out = _no_traceback(result)
        if target == "state/cf_lock.lmdb" and args == ["locks"]:
            assert result.returncode == 1 and f"{path}: Permission denied" in out, out
        if target == "state/cf_state.lmdb" and args == ["classes"]:
            assert f"persistent classes unavailable: {path}: Permission denied" in out, out
    agent = vigil(wd, "agent", "-I", unprivileged=True)
    out = _no_traceback(agent)
    assert agent.returncode == 0, out
    if target != "run report":
        [line] = [ln for ln in out.splitlines() if "error:" in ln]
        assert line.endswith(f"{path}: Permission denied"), out
    assert not list((wd / "state").glob("*.corrupt-*"))
    assert path.exists()
