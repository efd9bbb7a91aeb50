"""A reader that goes away (``vigil status | head``) ends a command quietly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.workdir import Workdir

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "args", [["status"], ["status", "--json"], ["runs"], ["runs", "--json"], ["locks"]]
)
def test_closed_stdout_is_not_a_traceback(tmp_path: Path, args: list[str]) -> None:
    wd = Workdir(tmp_path / "wd").ensure()
    p = subprocess.Popen(
        [sys.executable, "-m", "engine", *args, "-w", str(wd.root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # the reader is gone before the command writes anything
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait(timeout=60) == 141, err  # as if killed by SIGPIPE, like a C tool
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_main_returns_normally_when_stdout_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import main

    wd = Workdir(tmp_path / "wd").ensure()
    assert main(["runs", "--json", "-w", str(wd.root)]) == 0
    assert capsys.readouterr().out.strip() == "[]"
