"""Fixtures for daemon tests: temp workdirs, a stand-in agent, and cleanup by pid."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.daemons import procs
from engine.daemons.execd.agentrun import AGENT_COMMAND_ENV
from engine.workdir import Workdir

STANDIN = Path(__file__).with_name("standin_agent.py")

POLICY = """# marker {marker}
body common control {{ bundlesequence => {{ "main" }}; }}
body executor control {{ schedule => {{ {schedule} }}; }}
bundle agent main {{ reports: "hello {marker}"; }}
"""


def write_policy(root: Path, marker: str = "v1", schedule: str = '"any"') -> Path:
    p = root / "inputs" / "promises.cf"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(POLICY.format(marker=marker, schedule=schedule))
    return p


def standin(root: Path, **conf: object) -> None:
    (root / "standin.json").write_text(json.dumps(conf))


def wait_for(pred: Callable[[], object], timeout: float = 10.0, step: float = 0.05) -> object:
    """Poll ``pred`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {pred}")
        time.sleep(step)


def kill_everything(root: Path) -> list[int]:
    """Stop every vigil process of this workdir (ours, by pid); returns what was found."""
    found = []
    for cmd in ("execd", "monitord", "serverd", "agent", "watchdog"):
        for p in procs.find(cmd, root, foreground=False):
            found.append(p.pid)
            procs.stop_tree(p.pid, 3.0)
    return found


@pytest.fixture
def wd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh workdir whose execd runs the stand-in agent every second."""
    root = Workdir(tmp_path / "wd").ensure().root
    (root / "vigil.toml").write_text("[execd]\ntick_seconds = 1\ngrace_seconds = 2\n")
    cmd = (
        f"{sys.executable} {STANDIN} -m engine agent -f {{policy}} --started-by {{started_by}}"
        f" --output-file {{output_file}} -w {{workdir}}"
    )
    monkeypatch.setenv(AGENT_COMMAND_ENV, cmd)
    try:
        yield root
    finally:
        kill_everything(root)
